/**
 * The README's own steps with the real pulumi CLI and no lab: `pulumi login file://...` in a fresh PULUMI_HOME, then
 * `pulumi stack init`, then mpi-hosts' commands find that stack in that backend (they used to look only in the
 * checkout's .pulumi-state and answered "no stack named 'mylab' found"), and a missing stack is named with the
 * backend looked in and why that one.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backendUrl, pulumiProcessEnv, stackExists } from "../../cli/pulumiRunner";
import { snapshotProject } from "./support";

let home: string;
let project: string;
let env: NodeJS.ProcessEnv;
const state = () => `file://${path.join(home, "mpi-hosts-state")}`;

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-backend-"));
  project = snapshotProject("backend");
  env = { ...process.env, PULUMI_HOME: path.join(home, "pulumi-home"), MPI_HOSTS_PROJECT: project, PULUMI_CONFIG_PASSPHRASE: "test" };
  delete env.PULUMI_BACKEND_URL;
  delete env.MPI_HOSTS_STATE;
  fs.mkdirSync(path.join(home, "mpi-hosts-state"));
  // The user's own pulumi, as the README says: log in, make a stack.
  for (const args of [
    ["login", state()],
    ["stack", "init", "mylab"],
  ]) {
    const r = spawnSync("pulumi", args, { cwd: project, env: engineEnvWithoutBackend(), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")}: ${r.stderr}`);
  }
});

afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(project, { recursive: true, force: true });
});

/** PATH with the engine and the offline switches, but the backend left to pulumi (its login). */
function engineEnvWithoutBackend(): NodeJS.ProcessEnv {
  const e = pulumiProcessEnv("mylab", env);
  delete e.PULUMI_BACKEND_URL;
  return e;
}

function mpiHosts(args: string[]) {
  return spawnSync("npx", ["--no-install", "ts-node", "--transpile-only", "cli/main.ts", ...args], { cwd: project, env, encoding: "utf8" });
}

it("finds the stack in the backend of the user's pulumi login", async () => {
  expect(backendUrl(env)).toBe(state());
  expect(await stackExists("mylab", { env, stack: "mylab" })).toBe(true);
});

it("names the backend it looked in, and why that one, when the stack is not there", () => {
  const r = mpiHosts(["drift", "--stack", "nosuch"]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `drift: no stack 'nosuch' in ${state()} (the backend from pulumi login (${path.join(home, "pulumi-home", "credentials.json")}))`,
  );
});

it("stops, naming the file, when the pulumi login record is malformed, as pulumi itself does", () => {
  const credentials = path.join(home, "pulumi-home", "credentials.json");
  const good = fs.readFileSync(credentials, "utf8");
  fs.writeFileSync(credentials, "{not json");
  try {
    const r = mpiHosts(["drift", "--stack", "mylab"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^drift: ${credentials.replace(/[.]/g, "\\.")}: not valid JSON \\(at position 1\\): fix or delete it`),
    );
    // pulumi refuses the same file rather than pick another backend (pkg/workspace/creds.go).
    const pulumi = spawnSync("pulumi", ["stack", "ls"], {
      cwd: project,
      env: { ...pulumiEnvFor("s3://unused"), PULUMI_BACKEND_URL: "" },
      encoding: "utf8",
    });
    expect(pulumi.status).not.toBe(0);
    expect(pulumi.stderr).toContain(`invalid credentials file: '${credentials}'`);
  } finally {
    fs.writeFileSync(credentials, good);
  }
});

/** pulumi's environment as mpi-hosts sets it, resolved with a backend given (the login record cannot be read). */
function pulumiEnvFor(backendUrl: string): NodeJS.ProcessEnv {
  return pulumiProcessEnv("mylab", { ...env, PULUMI_BACKEND_URL: backendUrl });
}

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

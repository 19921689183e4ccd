/**
 * Logging in as OpenSSH does it (issue 12), on real sshd: the lab's admin key has a passphrase, so its file is of no
 * use without it; an ssh-agent started for the test holds it. The facet provider, configured from the stack config as
 * the engine configures it (no mpi-hosts:sshKeyPassphrase), converges every facet of every host through the agent and a
 * second converge finds nothing to do; the verification job passes through it. The same key file with
 * mpi-hosts:sshKeyPassphrase and no agent also logs in. A wrong passphrase, and an agent whose key is not authorized,
 * fail with a message that names the host, the user and each method tried.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Cluster } from "../../components/config/types";
import { renderHost } from "../../components/facets/index";
import { facetProvider, FacetOutputs } from "../../components/provider/facetProvider";
import { closeAll, Connection, runScript } from "../../components/provider/remote";
import { runVerification } from "../../components/verify/run";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { startAgent, TestAgent } from "../../lab/login";
import { connectionFor } from "../../lab/harness/facetRunner";
import { facetInputs, labCluster, newClusterKey } from "../../lab/harness/labCluster";

const LAB = "au1";
const PASSPHRASE = "lab passphrase: do not type";
let lab: Lab;
let cluster: Cluster;
let agent: TestAgent;
let dir: string;
const figures: string[] = [];

/** The connection as the state keeps it: no login; the provider brings its own. */
function stateConnection(host: string): Connection {
  const { login: _login, ...connection } = connectionFor(lab, host);
  return connection;
}

/** The engine's configure: the stack config's values as strings (lab stack file), SSH_AUTH_SOCK from the CLI's environment. */
async function configureProvider(values: Record<string, string>, agentSocket: string | undefined): Promise<void> {
  const previous = process.env.SSH_AUTH_SOCK;
  if (agentSocket) process.env.SSH_AUTH_SOCK = agentSocket;
  else delete process.env.SSH_AUTH_SOCK;
  try {
    await facetProvider.configure!({ config: { get: (key: string) => values[key], require: (key: string) => values[key] } });
  } finally {
    if (previous === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = previous;
  }
}

const sshConfig = () => ({ "mpi-hosts:ssh": JSON.stringify({ user: "mpi", port: 2400, privateKeyPath: lab.privateKeyPath }) });

beforeAll(async () => {
  const started = Date.now();
  lab = await startLab({ name: LAB, hosts: 3, release: "trixie", keyPassphrase: PASSPHRASE });
  cluster = labCluster(lab);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "au-login-"));
  agent = await startAgent([{ file: lab.privateKeyPath, passphrase: PASSPHRASE }]);
  figures.push(`start a 3-host trixie lab with a passphrase key and an agent: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  await closeAll();
  agent?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await stopLab(LAB);
  console.log(`login.test.ts figures\n  ${figures.join("\n  ")}`);
});

describe("the lab's admin key has a passphrase", () => {
  test("its file is of no use without the passphrase (ssh-keygen cannot read it with an empty one)", () => {
    expect(fs.readFileSync(lab.privateKeyPath, "utf8")).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(() => execFileSync("ssh-keygen", ["-y", "-P", "", "-f", lab.privateKeyPath], { stdio: "pipe" })).toThrow(/incorrect passphrase/);
    // The agent holds it: ssh-add lists the key whose public half is next to the file.
    const listed = execFileSync("ssh-add", ["-L"], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket }, encoding: "utf8" });
    expect(listed.split(" ")[1]).toBe(fs.readFileSync(`${lab.privateKeyPath}.pub`, "utf8").split(" ")[1]);
  });
});

describe("through ssh-agent (no mpi-hosts:sshKeyPassphrase)", () => {
  test("the facet provider converges every facet of every host, and a second converge finds nothing to do", async () => {
    await configureProvider(sshConfig(), agent.socket);
    const key = newClusterKey();
    const started = Date.now();
    const outputs: { id: string; outs: FacetOutputs; inputs: ReturnType<typeof facetInputs> }[] = [];
    await Promise.all(
      cluster.hosts.map(async (host) => {
        for (const facet of renderHost(cluster, host, key.publicKey)) {
          const inputs = facetInputs(lab, facet, key, stateConnection(host.name));
          const { id, outs } = (await facetProvider.create!(inputs)) as { id: string; outs: FacetOutputs };
          outputs.push({ id, outs, inputs });
        }
      }),
    );
    figures.push(`converge ${outputs.length} facets on 3 hosts through the agent: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const { outs } of outputs) {
      expect(outs.connection).not.toHaveProperty("login");
      expect(JSON.stringify(outs)).not.toContain("PRIVATE KEY-----\n");
    }
    // Idempotence: read every facet back from the host (probe, through the agent) and diff against the config.
    for (const { id, outs, inputs } of outputs) {
      const read = (await facetProvider.read!(id, outs)).props as FacetOutputs;
      expect({ id, diff: await facetProvider.diff!(id, read, inputs) }).toMatchObject({ id, diff: { changes: false } });
    }
  });

  test("the verification job passes through the agent", async () => {
    const started = Date.now();
    const run = await runVerification(
      cluster,
      { agentSocket: agent.socket, keyFile: lab.privateKeyPath },
      { tests: ["helloworld", "ringtest"] },
    );
    figures.push(`verification job (helloworld, ringtest) through the agent: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect({ code: run.code, failures: run.report?.failures.map((f) => f.message) }).toEqual({ code: 0, failures: [] });
  });
});

describe("the key file with mpi-hosts:sshKeyPassphrase, no agent", () => {
  test("logs in", async () => {
    await closeAll();
    const result = await runScript(
      { ...stateConnection("host2"), login: { keyFile: lab.privateKeyPath, passphrase: PASSPHRASE } },
      "id -un",
      {
        step: "who am i",
      },
    );
    expect(result).toMatchObject({ code: 0, stdout: "mpi\n" });
  });
});

describe("when every method is refused", () => {
  test("a wrong passphrase and no agent: the message names host, user, and why the key file could not be used", async () => {
    await closeAll();
    await expect(
      runScript({ ...stateConnection("host1"), login: { keyFile: lab.privateKeyPath, passphrase: "wrong" } }, "true", { step: "login" }),
    ).rejects.toThrow(
      new RegExp(
        `^host1 \\(mpi@${lab.hosts[0].address.replace(/\./g, "\\.")}:2400\\): every way to log in as mpi was refused: there was nothing to try; ` +
          `not usable: no ssh-agent \\(SSH_AUTH_SOCK is not set\\); key file ${lab.privateKeyPath}: mpi-hosts:sshKeyPassphrase does not decrypt it`,
      ),
    );
  });

  test("an agent whose key is not authorized, and the passphrase key file without its passphrase: both named, with what to do", async () => {
    await closeAll();
    const stranger = path.join(dir, "stranger");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "stranger", "-f", stranger]);
    const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", `${stranger}.pub`], { encoding: "utf8" }).split(" ")[1];
    const other = await startAgent([{ file: stranger }]);
    try {
      const attempt = runScript(
        { ...stateConnection("host3"), login: { agentSocket: other.socket, keyFile: lab.privateKeyPath } },
        "true",
        {
          step: "login",
        },
      );
      await expect(attempt).rejects.toThrow(
        `host3 (mpi@${lab.hosts[2].address}:2400): every way to log in as mpi was refused: ` +
          `tried ssh-agent at ${other.socket} with 1 key (ssh-ed25519 ${fingerprint} stranger); ` +
          `not usable: key file ${lab.privateKeyPath} is passphrase-protected and mpi-hosts:sshKeyPassphrase is not set ` +
          `(load it into ssh-agent: ssh-add ${lab.privateKeyPath}; or pulumi config set --secret mpi-hosts:sshKeyPassphrase ...). ` +
          `Put the public key of one of them in ~mpi/.ssh/authorized_keys on that host, or load an authorized key into ssh-agent (ssh-add).`,
      );
    } finally {
      other.stop();
    }
  });
});

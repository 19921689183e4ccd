/**
 * How mpi-hosts logs in, without a host: what is tried and in which order (a real ssh-agent started for the test, real
 * keys made by ssh-keygen), what is skipped and why, and what the messages say. Against real sshd: test/lab/login.test.ts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startAgent, TestAgent } from "../../lab/login";
import {
  JobLogin,
  jobLogin,
  loginAttempt,
  loginSourcesFromConfig,
  programLogin,
  recordedSecretsWarning,
  refusalMessage,
  resolveLogin,
  withoutSecretsNote,
} from "./credentials";

let dir: string;
let plain: string;
let encrypted: string;
let agent: TestAgent;
const PASSPHRASE = "correct horse";

function keygen(name: string, passphrase: string): string {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", file]);
  return file;
}

function fingerprintOf(file: string): string {
  return execFileSync("ssh-keygen", ["-l", "-f", `${file}.pub`], { encoding: "utf8" }).split(" ")[1];
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "credentials-"));
  plain = keygen("plain", "");
  encrypted = keygen("encrypted", PASSPHRASE);
  agent = await startAgent([{ file: encrypted, passphrase: PASSPHRASE }, { file: keygen("other", "") }]);
});

afterAll(() => {
  agent?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("resolveLogin: what is tried, in OpenSSH's order", () => {
  it("tries the agent's keys first, then the key file", async () => {
    const login = await resolveLogin({ agentSocket: agent.socket, keyFile: plain });
    expect(login.methods.map((m) => m.auth.type)).toEqual(["agent", "publickey"]);
    expect(login.methods[0].label).toBe(
      `ssh-agent at ${agent.socket} with 2 keys (ssh-ed25519 ${fingerprintOf(encrypted)} encrypted, ssh-ed25519 ${fingerprintOf(path.join(dir, "other"))} other)`,
    );
    expect(login.methods[1].label).toBe(`key file ${plain} (ssh-ed25519 ${fingerprintOf(plain)})`);
    expect(login.unusable).toEqual([]);
  });

  it("without SSH_AUTH_SOCK, or with an agent that does not answer, goes on with the key file and says why", async () => {
    expect(await resolveLogin({ keyFile: plain })).toMatchObject({
      methods: [{ auth: { type: "publickey" } }],
      unusable: ["no ssh-agent (SSH_AUTH_SOCK is not set)"],
    });
    const gone = path.join(dir, "no-agent.sock");
    const login = await resolveLogin({ agentSocket: gone, keyFile: plain });
    expect(login.methods.map((m) => m.auth.type)).toEqual(["publickey"]);
    expect(login.unusable).toEqual([
      expect.stringMatching(new RegExp(`^ssh-agent at ${gone} \\(SSH_AUTH_SOCK\\) cannot be used: Failed to connect to agent$`)),
    ]);
  });

  it("skips a passphrase-protected key file without mpi-hosts:sshKeyPassphrase (the agent may hold it), saying what to do", async () => {
    const login = await resolveLogin({ agentSocket: agent.socket, keyFile: encrypted });
    expect(login.methods.map((m) => m.auth.type)).toEqual(["agent"]);
    expect(login.unusable).toEqual([
      `key file ${encrypted} is passphrase-protected and mpi-hosts:sshKeyPassphrase is not set ` +
        `(load it into ssh-agent: ssh-add ${encrypted}; or pulumi config set --secret mpi-hosts:sshKeyPassphrase ...)`,
    ]);
  });

  it("decrypts a passphrase-protected key file with mpi-hosts:sshKeyPassphrase, and names a wrong one", async () => {
    const right = await resolveLogin({ keyFile: encrypted, passphrase: PASSPHRASE });
    expect(right.methods.map((m) => m.label)).toEqual([`key file ${encrypted} (ssh-ed25519 ${fingerprintOf(encrypted)})`]);
    // Decrypted once per process (bcrypt_pbkdf is slow), and handed to ssh2 decrypted.
    const key = right.methods[0].auth.type === "publickey" ? right.methods[0].auth.key : undefined;
    expect(key?.isPrivateKey()).toBe(true);
    const again = Date.now();
    expect((await resolveLogin({ keyFile: encrypted, passphrase: PASSPHRASE })).methods[0].auth).toEqual({ type: "publickey", key });
    expect(Date.now() - again).toBeLessThan(200);
    const wrong = await resolveLogin({ keyFile: encrypted, passphrase: "wrong" });
    expect(wrong.methods).toEqual([]);
    expect(wrong.unusable).toContainEqual(
      expect.stringMatching(/^key file .*encrypted: mpi-hosts:sshKeyPassphrase does not decrypt it \(.*bad passphrase/),
    );
  });

  it("uses the secret key instead of the key file, and a key recorded by an old state last", async () => {
    const login = await resolveLogin({
      keyFile: path.join(dir, "missing"),
      privateKey: fs.readFileSync(plain, "utf8"),
      recordedKey: fs.readFileSync(path.join(dir, "other"), "utf8"),
    });
    expect(login.methods.map((m) => m.label)).toEqual([
      `the key of the secret mpi-hosts:sshPrivateKey (ssh-ed25519 ${fingerprintOf(plain)})`,
      `the key recorded in the state by an earlier mpi-hosts (ssh-ed25519 ${fingerprintOf(path.join(dir, "other"))})`,
    ]);
  });

  it("names a key file it cannot read", async () => {
    const missing = path.join(dir, "missing");
    expect((await resolveLogin({ keyFile: missing })).unusable).toContain(`key file ${missing}: cannot read it (ENOENT)`);
  });
});

describe("npm run verify: no engine, so none of the stack's secrets", () => {
  it("a passphrase-protected key file: says to load it into ssh-agent, not to set a secret verify cannot read", async () => {
    const login = await resolveLogin({ keyFile: encrypted, withoutSecrets: { encrypted: [] } });
    expect(login.methods).toEqual([]);
    expect(login.unusable).toContain(
      `key file ${encrypted} is passphrase-protected and npm run verify takes no passphrase (load it into ssh-agent: ssh-add ${encrypted})`,
    );
    expect(login.unusable.join("\n")).not.toMatch(/pulumi config set/);
  });

  it("names the stack's encrypted mpi-hosts:sshKeyPassphrase it cannot decrypt", async () => {
    const login = await resolveLogin({ keyFile: encrypted, withoutSecrets: { encrypted: ["mpi-hosts:sshKeyPassphrase"] } });
    expect(login.unusable).toContain(
      `key file ${encrypted} is passphrase-protected and the stack's mpi-hosts:sshKeyPassphrase is encrypted, ` +
        `which npm run verify cannot decrypt (it runs without the Pulumi engine) (load it into ssh-agent: ssh-add ${encrypted})`,
    );
  });

  it("with an encrypted mpi-hosts:sshPrivateKey, does not fall back to the key file, and says why", async () => {
    const login = await resolveLogin({ keyFile: plain, withoutSecrets: { encrypted: ["mpi-hosts:sshPrivateKey"] } });
    expect(login.methods).toEqual([]);
    expect(login.unusable).toContain(
      "the secret mpi-hosts:sshPrivateKey of the stack is encrypted, which npm run verify cannot decrypt (it runs without the Pulumi engine): " +
        "load that key into ssh-agent (ssh-add FILE) and run again",
    );
  });

  it("the refusal with nothing to try says ssh-add, not a secret", () => {
    expect(refusalMessage("h (u@a:22)", "u", { methods: [], unusable: [] }, [], true)).toBe(
      "h (u@a:22): every way to log in as u was refused: there was nothing to try. " +
        "Start ssh-agent and ssh-add your key (npm run verify reads none of the stack's secrets), or set mpi-hosts:ssh.privateKeyPath to a key file without a passphrase.",
    );
  });

  it("says up front which encrypted login secrets of the stack it cannot use", () => {
    expect(withoutSecretsNote([])).toBeUndefined();
    expect(withoutSecretsNote(["mpi-hosts:sshPrivateKey", "mpi-hosts:sshKeyPassphrase"])).toBe(
      "the stack sets mpi-hosts:sshPrivateKey and mpi-hosts:sshKeyPassphrase as secrets, which npm run verify cannot decrypt " +
        "(it runs without the Pulumi engine): it logs in with ssh-agent's keys only. Load the key into ssh-agent first (ssh-add FILE).",
    );
    expect(withoutSecretsNote(["mpi-hosts:sshKeyPassphrase"])).toBe(
      "the stack sets mpi-hosts:sshKeyPassphrase as a secret, which npm run verify cannot decrypt " +
        "(it runs without the Pulumi engine): it logs in with ssh-agent's keys, then mpi-hosts:ssh.privateKeyPath if it has no passphrase. " +
        "Load the key into ssh-agent first (ssh-add FILE).",
    );
  });
});

describe("recordedSecretsWarning: login secrets of the stack config end up in the state", () => {
  it("says nothing when neither is set (an agent, or a key file without passphrase)", () => {
    expect(recordedSecretsWarning({})).toBeUndefined();
    expect(recordedSecretsWarning({ sshPrivateKey: "", sshKeyPassphrase: undefined })).toBeUndefined();
  });

  it("names each secret set, where it is recorded, that it is encrypted, and how an agent avoids it", () => {
    expect(recordedSecretsWarning({ sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----", sshKeyPassphrase: "p" })).toBe(
      "mpi-hosts:sshPrivateKey and mpi-hosts:sshKeyPassphrase are set: Pulumi records the stack config of the mpi-hosts namespace in the state " +
        "as the configuration of the facets' provider (the default mpi-hosts provider), so they are in the state, " +
        "encrypted with the stack's secrets provider, and refresh and destroy use them as recorded at the last pulumi up. " +
        "An ssh-agent holding the key keeps them out: ssh-add the key, then pulumi config rm mpi-hosts:sshPrivateKey and pulumi config rm mpi-hosts:sshKeyPassphrase.",
    );
    expect(recordedSecretsWarning({ sshKeyPassphrase: "p" })).toMatch(
      /^mpi-hosts:sshKeyPassphrase is set: .* so it is in the state, encrypted .* keeps it out: ssh-add the key, then pulumi config rm mpi-hosts:sshKeyPassphrase\.$/,
    );
    expect(recordedSecretsWarning({ sshKeyPassphrase: "hunter2 secret" })).not.toContain("hunter2");
  });
});

describe("loginAttempt: the order ssh2 is given", () => {
  it("hands ssh2 the agent, then the key, then false (nothing left)", async () => {
    const attempt = loginAttempt("mpi", { agentSocket: agent.socket, keyFile: plain });
    const next = () => new Promise<unknown>((resolve) => attempt.authHandler([], false, (m) => resolve(m as unknown)));
    expect(await next()).toEqual({ type: "agent", agent: agent.socket, username: "mpi" });
    expect(await next()).toMatchObject({ type: "publickey", username: "mpi" });
    expect(await next()).toBe(false);
    expect(attempt.refusal("host1 (mpi@10.0.0.1:2400)", "mpi")).toMatch(
      /^host1 \(mpi@10\.0\.0\.1:2400\): every way to log in as mpi was refused: tried ssh-agent at .* with 2 keys/,
    );
  });
});

describe("refusalMessage: host, user, each method and what was not usable", () => {
  it("names every method tried and every source skipped, and where the public key must be", () => {
    const message = refusalMessage("host2 (mpi@10.0.0.2:2400)", "mpi", {
      methods: [{ label: "ssh-agent at /a.sock with 1 key (ssh-ed25519 SHA256:abc laptop)", auth: { type: "agent", agent: "/a.sock" } }],
      unusable: ["key file /k is passphrase-protected and mpi-hosts:sshKeyPassphrase is not set (...)"],
    });
    expect(message).toBe(
      "host2 (mpi@10.0.0.2:2400): every way to log in as mpi was refused: tried ssh-agent at /a.sock with 1 key " +
        "(ssh-ed25519 SHA256:abc laptop); not usable: key file /k is passphrase-protected and mpi-hosts:sshKeyPassphrase is not set (...). " +
        "Put the public key of one of them in ~mpi/.ssh/authorized_keys on that host, or load an authorized key into ssh-agent (ssh-add).",
    );
  });

  it("with nothing to try, says so and how to give a key", () => {
    expect(refusalMessage("h (u@a:22)", "u", { methods: [], unusable: ["no ssh-agent (SSH_AUTH_SOCK is not set)"] })).toBe(
      "h (u@a:22): every way to log in as u was refused: there was nothing to try; not usable: no ssh-agent (SSH_AUTH_SOCK is not set). " +
        "Start ssh-agent and ssh-add your key, or set mpi-hosts:ssh.privateKeyPath (and mpi-hosts:sshKeyPassphrase for a passphrase-protected key).",
    );
  });
});

describe("loginSourcesFromConfig: the facet provider's configure", () => {
  it("reads the key file (default ~/.ssh/id_ed25519), the secret key and the passphrase from the stack config, the agent from the environment", () => {
    const get = (values: Record<string, string>) => (key: string) => values[key];
    expect(loginSourcesFromConfig(get({}), {})).toEqual({
      agentSocket: undefined,
      keyFile: path.join(os.homedir(), ".ssh/id_ed25519"),
      privateKey: undefined,
      passphrase: undefined,
    });
    expect(
      loginSourcesFromConfig(
        get({
          "mpi-hosts:ssh": JSON.stringify({ user: "mpi", privateKeyPath: "~/keys/k" }),
          "mpi-hosts:sshKeyPassphrase": "p",
        }),
        { SSH_AUTH_SOCK: "/s" },
      ),
    ).toEqual({ agentSocket: "/s", keyFile: path.join(os.homedir(), "keys/k"), privateKey: undefined, passphrase: "p" });
    expect(loginSourcesFromConfig(get({ "mpi-hosts:sshPrivateKey": "KEY" }), {})).toMatchObject({ keyFile: undefined, privateKey: "KEY" });
  });
});

describe("jobLogin: whether pulumi up has a way to log in", () => {
  it("with an agent that holds keys: no key at all", () => {
    expect(jobLogin({ agentSocket: agent.socket, keyFile: plain })).toEqual({ kind: "agent", keys: 2 });
  });

  it("without an agent: the key and its passphrase, and no warning (the plugin reads them itself; no resource records them)", () => {
    const login = jobLogin({ keyFile: encrypted, passphrase: PASSPHRASE });
    expect(login).toEqual({ kind: "key", privateKey: fs.readFileSync(encrypted, "utf8"), passphrase: PASSPHRASE });
  });

  it("without an agent and a key file it cannot read: says so as the facets' login does (one reader, one message)", async () => {
    const missing = path.join(dir, "missing");
    const problem = `key file ${missing}: cannot read it (ENOENT)`;
    expect((await resolveLogin({ keyFile: missing })).unusable).toContain(problem);
    expect(jobLogin({ keyFile: missing })).toEqual({
      kind: "none",
      problem:
        `no ssh-agent (SSH_AUTH_SOCK is not set), and ${problem}: ` +
        "start ssh-agent and ssh-add your key, or set mpi-hosts:ssh.privateKeyPath or the secret mpi-hosts:sshPrivateKey",
    });
  });

  it("without an agent and with a passphrase key but no passphrase: nothing to log in with, and why", () => {
    const empty = path.join(dir, "empty-agent.sock");
    expect(jobLogin({ agentSocket: empty, keyFile: encrypted })).toEqual({
      kind: "none",
      problem: expect.stringMatching(
        new RegExp(
          `^no ssh-agent \\(ssh-add -l: .*\\), and key file ${encrypted} is passphrase-protected and mpi-hosts:sshKeyPassphrase is not set`,
        ),
      ),
    });
  });
});

describe("programLogin: a preview needs no way to log in, up does", () => {
  const none: JobLogin = { kind: "none", problem: "no ssh-agent (SSH_AUTH_SOCK is not set), and cannot read key file /x: ENOENT" };

  it("stops pulumi up with the problem, before any host is touched", () => {
    expect(programLogin(none, false)).toEqual({ error: none.problem });
  });

  it("lets a preview go on with no key in the job's connection, and says what up will need", () => {
    const result = programLogin(none, true);
    expect(result).toEqual({ login: { kind: "agent", keys: 0 }, warning: expect.stringContaining(none.problem) });
    expect((result as { warning: string }).warning).toMatch(/pulumi up and a preview with --refresh do/);
  });

  it("passes an agent or a key through, without a warning (no key lands in the state)", () => {
    expect(programLogin({ kind: "agent", keys: 2 }, false)).toEqual({ login: { kind: "agent", keys: 2 } });
    const key: JobLogin = { kind: "key", privateKey: "K" };
    expect(programLogin(key, true)).toEqual({ login: key });
  });
});

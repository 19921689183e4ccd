/**
 * How mpi-hosts logs in to a host, resolved at run time the way OpenSSH does it: the keys ssh-agent holds
 * (SSH_AUTH_SOCK) first, then the key file (mpi-hosts:ssh.privateKeyPath) or the key of the secret
 * mpi-hosts:sshPrivateKey, decrypted with the secret mpi-hosts:sshKeyPassphrase when it has a passphrase.
 *
 * None of this goes into a resource's inputs: the state keeps the login user and nothing else about the login, so a
 * preview from another machine (another authorized key, another agent) sees no change, and refresh and destroy after
 * a key rotation use the key of the machine they run on.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as ssh2 from "ssh2";
import schema from "../../schemas/cluster.schema.json";
import { expandHome } from "../config/load";

/** Where the login may come from; what is not set is not tried. */
export interface LoginSources {
  /** ssh-agent's socket (SSH_AUTH_SOCK); undefined: no agent. */
  agentSocket?: string;
  /** A private key file (mpi-hosts:ssh.privateKeyPath). */
  keyFile?: string;
  /** A private key's text (the secret mpi-hosts:sshPrivateKey): used instead of keyFile, as the config says. */
  privateKey?: string;
  /** Decrypts the key file or the secret key (the secret mpi-hosts:sshKeyPassphrase). */
  passphrase?: string;
  /** The key a state written before the login left the state recorded (its connection.privateKey): tried last. */
  recordedKey?: string;
  /**
   * Set by npm run verify, which runs without the Pulumi engine and so cannot decrypt the stack's secrets: the login
   * secrets the stack file holds encrypted (an encrypted sshPrivateKey means the key file is not the key to try), and
   * what-to-do texts say ssh-add rather than pulumi config set.
   */
  withoutSecrets?: { encrypted: string[] };
}

/** One way to log in that will be tried, in order, and how a refusal message names it. */
export interface LoginMethod {
  label: string;
  auth: { type: "agent"; agent: string } | { type: "publickey"; key: ssh2.ParsedKey };
}

export interface ResolvedLogin {
  methods: LoginMethod[];
  /** Sources that could not be used, each with why and what to do. */
  unusable: string[];
}

export const PASSPHRASE_KEY = "mpi-hosts:sshKeyPassphrase";
export const PRIVATE_KEY_KEY = "mpi-hosts:sshPrivateKey";
const NO_ENGINE = "which npm run verify cannot decrypt (it runs without the Pulumi engine)";

/**
 * The program's warning when the stack config sets the login secrets: Pulumi hands the facets' provider (the plugin
 * pulumi-resource-mpi-hosts) the stack config of its namespace, `mpi-hosts:*` (pkg/resource/deploy/target.go
 * GetPackageConfig), and records it as the default mpi-hosts provider's inputs, so they are in the state, encrypted,
 * whatever the facets' connections leave out. Undefined when neither is set.
 */
export function recordedSecretsWarning(cluster: { sshPrivateKey?: string; sshKeyPassphrase?: string }): string | undefined {
  const set = [...(cluster.sshPrivateKey ? [PRIVATE_KEY_KEY] : []), ...(cluster.sshKeyPassphrase ? [PASSPHRASE_KEY] : [])];
  if (!set.length) return undefined;
  const [is, they, them] = set.length === 1 ? ["is", "it is", "it"] : ["are", "they are", "them"];
  return (
    `${set.join(" and ")} ${is} set: Pulumi records the stack config of the mpi-hosts namespace in the state ` +
    `as the configuration of the facets' provider (the default mpi-hosts provider), so ${they} in the state, ` +
    `encrypted with the stack's secrets provider, and refresh and destroy use ${them} as recorded at the last pulumi up. ` +
    `An ssh-agent holding the key keeps ${them} out: ssh-add the key, then ${set.map((k) => `pulumi config rm ${k}`).join(" and ")}.`
  );
}

/** What npm run verify says before it starts when the stack has login secrets it cannot decrypt; undefined: none. */
export function withoutSecretsNote(encrypted: string[]): string | undefined {
  if (!encrypted.length) return undefined;
  const keyEncrypted = encrypted.includes(PRIVATE_KEY_KEY);
  const uses = keyEncrypted ? "ssh-agent's keys only" : "ssh-agent's keys, then mpi-hosts:ssh.privateKeyPath if it has no passphrase";
  return (
    `the stack sets ${encrypted.join(" and ")} as ${encrypted.length === 1 ? "a secret" : "secrets"}, ${NO_ENGINE}: ` +
    `it logs in with ${uses}. Load the key into ssh-agent first (ssh-add FILE).`
  );
}
const DEFAULT_KEY_FILE = (schema as { properties: { ssh: { properties: { privateKeyPath: { default: string } } } } }).properties.ssh
  .properties.privateKeyPath.default;

/** OpenSSH's SHA256 fingerprint of a public key blob. */
export function keyFingerprint(publicBlob: Buffer): string {
  return `SHA256:${crypto.createHash("sha256").update(publicBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The sources the stack config and this process's environment give (the facet provider's configure). */
export function loginSourcesFromConfig(get: (key: string) => string | undefined, env: NodeJS.ProcessEnv = process.env): LoginSources {
  let ssh: { privateKeyPath?: string } = {};
  const raw = get("mpi-hosts:ssh");
  if (raw) {
    try {
      ssh = JSON.parse(raw) as typeof ssh;
    } catch {
      ssh = {};
    }
  }
  const privateKey = get(PRIVATE_KEY_KEY) || undefined;
  return {
    agentSocket: env.SSH_AUTH_SOCK || undefined,
    keyFile: privateKey ? undefined : expandHome(ssh.privateKeyPath ?? DEFAULT_KEY_FILE),
    privateKey,
    passphrase: get(PASSPHRASE_KEY) || undefined,
  };
}

/** The sources of a loaded cluster config and this process's environment (npm run verify, the program). */
export function loginSourcesOf(
  cluster: { ssh: { privateKeyPath: string }; sshPrivateKey?: string; sshKeyPassphrase?: string },
  env: NodeJS.ProcessEnv = process.env,
): LoginSources {
  return {
    agentSocket: env.SSH_AUTH_SOCK || undefined,
    keyFile: cluster.sshPrivateKey ? undefined : cluster.ssh.privateKeyPath,
    privateKey: cluster.sshPrivateKey || undefined,
    passphrase: cluster.sshKeyPassphrase || undefined,
  };
}

function agentIdentities(socket: string): Promise<ssh2.ParsedKey[]> {
  return new Promise((resolve, reject) => {
    const agent = new ssh2.OpenSSHAgent(socket);
    // An agent that does not answer must not hold the connection up for ever.
    const timer = setTimeout(() => reject(new Error("no answer within 5s")), 5000);
    agent.getIdentities((err, keys) => {
      clearTimeout(timer);
      if (err) reject(err);
      // An OpenSSH agent answers with parsed keys.
      else resolve((keys ?? []) as ssh2.ParsedKey[]);
    });
  });
}

function describeKeys(keys: ssh2.ParsedKey[]): string {
  return keys.map((k) => `${k.type} ${keyFingerprint(k.getPublicSSH())}${k.comment ? ` ${k.comment}` : ""}`).join(", ");
}

/**
 * Keys decrypted in this process, by digest of text and passphrase: decrypting an OpenSSH key runs bcrypt_pbkdf
 * (0.9 s of CPU here for an ed25519 key of ssh-keygen's default 16 rounds), and every host's connection resolves the login again.
 */
const decrypted = new Map<string, ReturnType<typeof ssh2.utils.parseKey>>();

function parseKeyOnce(text: string, passphrase: string | undefined): ReturnType<typeof ssh2.utils.parseKey> {
  const id = crypto
    .createHash("sha256")
    .update(text)
    .update("\0")
    .update(passphrase ?? "")
    .digest("hex");
  let parsed = decrypted.get(id);
  if (!parsed) {
    parsed = ssh2.utils.parseKey(text, passphrase);
    decrypted.set(id, parsed);
  }
  return parsed;
}

/** A key (file or text) as a method, or why it cannot be one (`noPassphrase`: why there is none to decrypt it). */
function keyMethod(
  text: string,
  what: string,
  passphrase: string | undefined,
  whatToDo: string,
  noPassphrase = `${PASSPHRASE_KEY} is not set`,
): LoginMethod | string {
  const parsed = parseKeyOnce(text, passphrase);
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message) && /no passphrase given/i.test(parsed.message)) {
      return `${what} is passphrase-protected and ${noPassphrase} (${whatToDo})`;
    }
    if (/bad passphrase/i.test(parsed.message)) {
      return `${what}: ${PASSPHRASE_KEY} does not decrypt it (${parsed.message}; set the right passphrase, or load the key into ssh-agent with ssh-add)`;
    }
    return `${what} is not a private key mpi-hosts can read (${parsed.message})`;
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key.isPrivateKey()) return `${what} holds a public key, not a private one`;
  return {
    label: `${what} (${key.type} ${keyFingerprint(key.getPublicSSH())})`,
    auth: { type: "publickey", key },
  };
}

/**
 * What will be tried, in OpenSSH's order: the agent's keys, then the key file or secret key, then a key recorded by an
 * earlier state. A passphrase-protected key without a passphrase is not an error by itself (the agent may hold it): it
 * is skipped and named should every method be refused.
 */
export async function resolveLogin(sources: LoginSources): Promise<ResolvedLogin> {
  const methods: LoginMethod[] = [];
  const unusable: string[] = [];
  const add = (m: LoginMethod | string) => (typeof m === "string" ? unusable.push(m) : methods.push(m));
  if (!sources.agentSocket) {
    unusable.push("no ssh-agent (SSH_AUTH_SOCK is not set)");
  } else {
    try {
      const keys = await agentIdentities(sources.agentSocket);
      if (keys.length) {
        methods.push({
          label: `ssh-agent at ${sources.agentSocket} with ${keys.length} key${keys.length === 1 ? "" : "s"} (${describeKeys(keys)})`,
          auth: { type: "agent", agent: sources.agentSocket },
        });
      } else {
        unusable.push(`ssh-agent at ${sources.agentSocket} holds no keys (add one with ssh-add)`);
      }
    } catch (err) {
      unusable.push(`ssh-agent at ${sources.agentSocket} (SSH_AUTH_SOCK) cannot be used: ${(err as Error).message}`);
    }
  }
  if (sources.privateKey) {
    add(
      keyMethod(
        sources.privateKey,
        `the key of the secret ${PRIVATE_KEY_KEY}`,
        sources.passphrase,
        `pulumi config set --secret ${PASSPHRASE_KEY} ...`,
      ),
    );
  } else if (sources.withoutSecrets?.encrypted.includes(PRIVATE_KEY_KEY)) {
    // The stack's key is that secret: the key file (by default ~/.ssh/id_ed25519) would be another key, tried silently.
    unusable.push(
      `the secret ${PRIVATE_KEY_KEY} of the stack is encrypted, ${NO_ENGINE}: load that key into ssh-agent (ssh-add FILE) and run again`,
    );
  } else if (sources.keyFile) {
    const read = readKeyFile(sources.keyFile);
    if ("problem" in read) unusable.push(read.problem);
    const text = "text" in read ? read.text : undefined;
    if (text !== undefined && sources.withoutSecrets) {
      const noPassphrase = sources.withoutSecrets.encrypted.includes(PASSPHRASE_KEY)
        ? `the stack's ${PASSPHRASE_KEY} is encrypted, ${NO_ENGINE}`
        : "npm run verify takes no passphrase";
      add(keyMethod(text, `key file ${sources.keyFile}`, undefined, `load it into ssh-agent: ssh-add ${sources.keyFile}`, noPassphrase));
    } else if (text !== undefined) {
      add(
        keyMethod(
          text,
          `key file ${sources.keyFile}`,
          sources.passphrase,
          `load it into ssh-agent: ssh-add ${sources.keyFile}; or pulumi config set --secret ${PASSPHRASE_KEY} ...`,
        ),
      );
    }
  }
  if (sources.recordedKey) {
    add(keyMethod(sources.recordedKey, "the key recorded in the state by an earlier mpi-hosts", undefined, "it cannot be decrypted"));
  }
  return { methods, unusable };
}

/**
 * The admin key file's text, or why it cannot be had: the one reader of mpi-hosts:ssh.privateKeyPath, so the facets'
 * login (resolveLogin) and the verification job's (jobLogin) say the same thing about it.
 */
export function readKeyFile(file: string): { text: string } | { problem: string } {
  try {
    return { text: fs.readFileSync(file, "utf8") };
  } catch (err) {
    return { problem: `key file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

/** ssh2's authHandler and the message for when every method was refused. */
export interface LoginAttempt {
  authHandler: ssh2.AuthHandlerMiddleware;
  /** What an agent said while being tried (ssh2 reports it as an error, then goes on to the next method). */
  noteAgentError(message: string): void;
  refusal(where: string, user: string): string;
}

/**
 * Tries the resolved methods in order (ssh2's own order would try a key before the agent). Resolution happens on the
 * first call, so that a connection's setup stays synchronous.
 */
export function loginAttempt(user: string, sources: LoginSources): LoginAttempt {
  let resolved: Promise<ResolvedLogin> | undefined;
  let seen: ResolvedLogin | undefined;
  let next = 0;
  const agentErrors: string[] = [];
  return {
    authHandler: (_left, _partial, callback) => {
      resolved ??= resolveLogin(sources).then((r) => (seen = r));
      void resolved.then(
        (r) => {
          const method = r.methods[next++];
          // ssh2 takes false for "nothing left" (its types say otherwise).
          if (!method) (callback as unknown as (m: false) => void)(false);
          else callback({ ...method.auth, username: user });
        },
        () => (callback as unknown as (m: false) => void)(false),
      );
    },
    noteAgentError: (message) => agentErrors.push(message),
    refusal: (where, user_) =>
      refusalMessage(where, user_, seen ?? { methods: [], unusable: [] }, agentErrors, sources.withoutSecrets !== undefined),
  };
}

/**
 * Names host, user, each method tried and each source that could not be used, and what to do (`withoutSecrets`: for
 * npm run verify, which cannot read the stack's secrets).
 */
export function refusalMessage(
  where: string,
  user: string,
  login: ResolvedLogin,
  agentErrors: string[] = [],
  withoutSecrets = false,
): string {
  const tried = login.methods.length ? `tried ${login.methods.map((m) => m.label).join("; ")}` : "there was nothing to try";
  const notUsed = login.unusable.length ? `; not usable: ${login.unusable.join("; ")}` : "";
  const agent = agentErrors.length ? `; the agent said: ${agentErrors.join("; ")}` : "";
  const hint = login.methods.length
    ? `Put the public key of one of them in ~${user}/.ssh/authorized_keys on that host, or load an authorized key into ssh-agent (ssh-add).`
    : withoutSecrets
      ? "Start ssh-agent and ssh-add your key (npm run verify reads none of the stack's secrets), or set mpi-hosts:ssh.privateKeyPath to a key file without a passphrase."
      : `Start ssh-agent and ssh-add your key, or set mpi-hosts:ssh.privateKeyPath (and ${PASSPHRASE_KEY} for a passphrase-protected key).`;
  return `${where}: every way to log in as ${user} was refused: ${tried}${notUsed}${agent}. ${hint}`;
}

/** How many keys the agent at `socket` holds (ssh-add -l), or why it cannot say; synchronous, for the Pulumi program. */
export function agentKeyCount(socket: string | undefined): { keys: number } | { problem: string } {
  if (!socket) return { problem: "SSH_AUTH_SOCK is not set" };
  const run = spawnSync("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: "utf8", timeout: 10_000 });
  if (run.error) return { problem: `cannot run ssh-add -l: ${run.error.message}` };
  // ssh-add -l: exit 0 with one line per key, 1 when the agent holds none, 2 when it cannot be reached.
  if (run.status === 0) return { keys: run.stdout.split("\n").filter((l) => l.trim()).length };
  if (run.status === 1) return { keys: 0 };
  return { problem: `ssh-add -l: ${(run.stderr || run.stdout).trim() || `exit ${run.status}`}` };
}

/**
 * Whether `pulumi up` has a way to log in (the program checks before any host is touched; the facets and the
 * verification job then log in in the provider plugin, which reads the same sources: no key goes into any resource's
 * inputs, issue 15 R4). With an agent that holds keys: the agent. Without one: the key it would use; or why there is
 * nothing to log in with.
 */
export type JobLogin =
  { kind: "agent"; keys: number } | { kind: "key"; privateKey: string; passphrase?: string } | { kind: "none"; problem: string };

/** The job's login as the program uses it: what to give the job, what to warn about, or why the run cannot go on. */
export type ProgramLogin = { login: Exclude<JobLogin, { kind: "none" }>; warning?: string } | { error: string };

/**
 * A preview logs in nowhere from the program (the facets' diff compares with the state the last `up` recorded, and the
 * job runs only on `up`), so without any way to log in it goes on, saying what `up` will need: the read-only preview
 * of a pull request has no key (.github/workflows/review.yml). The job is then declared as with an agent (no key in
 * its connection). `up` stops before any host is touched.
 */
export function programLogin(login: JobLogin, dryRun: boolean): ProgramLogin {
  if (login.kind !== "none") return { login };
  if (!dryRun) return { error: login.problem };
  return {
    login: { kind: "agent", keys: 0 },
    warning: `${login.problem}. This preview needs none (it compares with the recorded state); pulumi up and a preview with --refresh do`,
  };
}

export function jobLogin(sources: LoginSources): JobLogin {
  const agent = agentKeyCount(sources.agentSocket);
  if ("keys" in agent && agent.keys > 0) return { kind: "agent", keys: agent.keys };
  const noAgent = "problem" in agent ? `no ssh-agent (${agent.problem})` : `the ssh-agent at ${sources.agentSocket} holds no keys`;
  const what = sources.privateKey ? `the key of the secret ${PRIVATE_KEY_KEY}` : `key file ${sources.keyFile}`;
  let text = sources.privateKey;
  if (!text) {
    const read = readKeyFile(sources.keyFile ?? "");
    if ("problem" in read) {
      return {
        kind: "none",
        problem: `${noAgent}, and ${read.problem}: start ssh-agent and ssh-add your key, or set mpi-hosts:ssh.privateKeyPath or the secret ${PRIVATE_KEY_KEY}`,
      };
    }
    text = read.text;
  }
  const method = keyMethod(
    text,
    what,
    sources.passphrase,
    `load it into ssh-agent with ssh-add, or pulumi config set --secret ${PASSPHRASE_KEY} ...`,
  );
  if (typeof method === "string") return { kind: "none", problem: `${noAgent}, and ${method}` };
  return { kind: "key", privateKey: text, passphrase: sources.passphrase };
}

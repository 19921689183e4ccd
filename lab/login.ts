/**
 * How tests log in to lab hosts: the lab's admin key (decrypted with its passphrase when it has one), or an ssh-agent
 * started for the test, holding keys loaded with ssh-add through an askpass helper, so that the key files on disk
 * stay encrypted and nothing types a passphrase.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { LoginSources } from "../components/provider/credentials";
import type { Lab } from "./types";

/** The lab's admin key as login sources (no agent: a test's login does not depend on the agent of whoever runs it). */
export function labLogin(lab: Lab): LoginSources {
  return { keyFile: lab.privateKeyPath, ...(lab.keyPassphrase ? { passphrase: lab.keyPassphrase } : {}) };
}

export interface TestAgent {
  /** SSH_AUTH_SOCK for it. */
  socket: string;
  pid: number;
  /** Ends the agent and removes its directory. */
  stop(): void;
}

/** A key for the agent: a private key file and, if it is encrypted, its passphrase. */
export interface AgentKey {
  file: string;
  passphrase?: string;
}

/**
 * Starts `ssh-agent -D -a SOCKET` (in the foreground, so its pid is the child's and nothing outlives stop()) and
 * loads `keys` with ssh-add. ssh-add reads a passphrase from the program SSH_ASKPASS names when
 * SSH_ASKPASS_REQUIRE=force (OpenSSH >= 8.4, readpass.c); the helper prints it from its environment, so no file holds it.
 */
export async function startAgent(keys: AgentKey[]): Promise<TestAgent> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-agent-"));
  const socket = path.join(dir, "agent.sock");
  const child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 5000;
    while (!fs.existsSync(socket)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ssh-agent -D -a ${socket} did not start: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const askpass = path.join(dir, "askpass");
    fs.writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$MPI_HOSTS_TEST_PASSPHRASE"\n`, { mode: 0o700 });
    for (const key of keys) {
      const add = spawnSync("ssh-add", [key.file], {
        env: {
          ...process.env,
          SSH_AUTH_SOCK: socket,
          SSH_ASKPASS: askpass,
          SSH_ASKPASS_REQUIRE: "force",
          DISPLAY: process.env.DISPLAY ?? ":0",
          MPI_HOSTS_TEST_PASSPHRASE: key.passphrase ?? "",
        },
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
        timeout: 10_000,
      });
      if (add.status !== 0) throw new Error(`ssh-add ${key.file} failed (exit ${add.status}): ${add.stderr.trim()}`);
    }
    return { socket, pid: child.pid!, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

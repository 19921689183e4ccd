/** Talking to lab hosts from tests: over SSH as a real client would, and as root from inside (rootExec). */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "ssh2";
import { shellQuote } from "../../components/templates/shellQuote";
import { Lab, LabHost, rootExec } from "../lab";

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

export function labHost(lab: Lab, name: string): LabHost {
  const host = lab.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name} in lab ${lab.name}`);
  return host;
}

/**
 * Runs a command over SSH with ssh2, as user mpi with the lab key, accepting only the host key `pinned`
 * (default: the key the lab recorded for the host). Rejects when the connection or the key check fails.
 */
export function sshExec(lab: Lab, hostName: string, command: string, opts: { pinned?: string; timeoutMs?: number } = {}): Promise<Output> {
  const host = labHost(lab, hostName);
  const pinned = (opts.pinned ?? host.hostKey).split(/\s+/)[1];
  const timeoutMs = opts.timeoutMs ?? 60000;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented = "";
    const timer = setTimeout(() => {
      client.end();
      reject(new Error(`ssh ${host.name}: '${command}' still running after ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      client.end();
      reject(
        new Error(
          `ssh ${host.user}@${host.address}:${host.port}: ${e.message}${presented && presented !== pinned ? " (host key differs from the pinned one)" : ""}`,
        ),
      );
    };
    client
      .on("ready", () => {
        client.exec(command, (err, stream) => {
          if (err) return fail(err);
          let stdout = "";
          let stderr = "";
          stream.on("data", (b: Buffer) => (stdout += b.toString()));
          stream.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
          stream.on("close", (code: number | null) => {
            clearTimeout(timer);
            client.end();
            resolve({ code: code ?? -1, stdout, stderr });
          });
        });
      })
      .on("error", fail)
      .connect({
        host: host.address,
        port: host.port,
        username: host.user,
        privateKey: fs.readFileSync(lab.privateKeyPath),
        readyTimeout: Math.min(timeoutMs, 10000),
        hostVerifier: (key: Buffer) => {
          presented = key.toString("base64");
          return presented === pinned;
        },
      });
  });
}

/**
 * Runs a command with the OpenSSH client and StrictHostKeyChecking=yes against a known_hosts file written here
 * from the pinned keys: an independent check of what ssh2 sees.
 */
export async function opensshExec(lab: Lab, hostName: string, command: string): Promise<Output> {
  const host = labHost(lab, hostName);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-ssh-"));
  try {
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, `[${host.address}]:${host.port} ${host.hostKey}\n`);
    return await runLocal("ssh", [
      "-F",
      "/dev/null",
      "-i",
      lab.privateKeyPath,
      "-p",
      String(host.port),
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${knownHosts}`,
      "-o",
      "ConnectTimeout=10",
      `${host.user}@${host.address}`,
      command,
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function runLocal(command: string, args: string[]): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** rootExec that fails the test with the script's output when the script fails. */
export async function rootOk(lab: Lab, host: string, script: string, input?: string): Promise<string> {
  const result = await rootExec(lab, host, script, { input });
  if (result.code !== 0) {
    throw new Error(
      `rootExec on ${host} failed (exit ${result.code}):\n${script}\n--- stdout:\n${result.stdout}--- stderr:\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * What the product will later do itself, done by hand for the MPI tests only: user mpi on every host can ssh to
 * every host by name on port 2400 with the lab key, with host keys pinned.
 */
export async function giveMpiUserClusterSsh(lab: Lab): Promise<void> {
  const names = lab.hosts.map((h) => h.name).join(" ");
  const config = `Host ${names}\n  Port ${lab.hosts[0].port}\n  IdentityFile ~/.ssh/id_ed25519\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n`;
  const knownHosts = lab.hosts.map((h) => `[${h.name}]:${h.port},[${h.address}]:${h.port} ${h.hostKey}`).join("\n") + "\n";
  const key = fs.readFileSync(lab.privateKeyPath, "utf8");
  await Promise.all(
    lab.hosts.map(async (h) => {
      await rootOk(lab, h.name, 'f=/home/mpi/.ssh/config; cat >"$f" && chown mpi:mpi "$f" && chmod 600 "$f"', config);
      await rootOk(lab, h.name, 'f=/home/mpi/.ssh/known_hosts; cat >"$f" && chown mpi:mpi "$f" && chmod 600 "$f"', knownHosts);
      await rootOk(lab, h.name, 'f=/home/mpi/.ssh/id_ed25519; cat >"$f" && chown mpi:mpi "$f" && chmod 600 "$f"', key);
    }),
  );
}

/** A TCP connect from inside `from` (as user mpi, over SSH) to host:port; reports how it ended and how long it took. */
export async function tcpConnectFrom(
  lab: Lab,
  from: string,
  target: string,
  port: number,
  timeoutSeconds: number,
): Promise<{ outcome: string; seconds: number }> {
  const script = [
    "import socket, sys, time",
    "t = time.monotonic()",
    "try:",
    `    socket.create_connection((${JSON.stringify(target)}, ${port}), timeout=${timeoutSeconds}).close()`,
    "    outcome = 'connected'",
    "except socket.timeout:",
    "    outcome = 'timeout'",
    "except OSError as e:",
    "    outcome = type(e).__name__",
    "print(outcome, round(time.monotonic() - t, 2))",
  ].join("\n");
  const result = await sshExec(lab, from, `python3 -c ${shellQuote(script)}`);
  if (result.code !== 0) throw new Error(`connect probe on ${from} failed: ${result.stderr}`);
  const [outcome, seconds] = result.stdout.trim().split(" ");
  return { outcome, seconds: Number(seconds) };
}

/** Inodes of the lab's network namespaces, taken while it runs, to look for processes left in them afterwards. */
export function netnsInodes(lab: Lab): number[] {
  return lab.hosts.flatMap((h) => {
    try {
      return [fs.statSync(`/run/netns/${h.netns}`).ino];
    } catch {
      return [];
    }
  });
}

/** Every trace of a lab the machine would show: namespaces, links, processes, state, mounts. */
export async function labTraces(lab: Lab, inodes: number[]): Promise<string[]> {
  const traces: string[] = [];
  const netns = (await runLocal("ip", ["netns", "list"])).stdout;
  for (const h of lab.hosts) if (netns.includes(h.netns)) traces.push(`netns ${h.netns}`);
  const links = (await runLocal("ip", ["-o", "link", "show"])).stdout;
  if (new RegExp(`: ${lab.bridge}[:@]`).test(links)) traces.push(`bridge ${lab.bridge}`);
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
    } catch {
      continue;
    }
    let net = "";
    try {
      net = fs.readlinkSync(`/proc/${entry}/ns/net`);
    } catch {
      // a zombie has no namespaces left: it holds nothing
    }
    const inLab = inodes.some((ino) => net === `net:[${ino}]`);
    if (inLab || cmdline.includes(lab.dir + "/")) traces.push(`process ${entry}: ${cmdline.trim()}`);
  }
  if (fs.existsSync(lab.dir)) traces.push(`directory ${lab.dir}`);
  if (fs.readFileSync("/proc/self/mounts", "utf8").includes(lab.dir)) traces.push(`mount under ${lab.dir}`);
  return traces;
}

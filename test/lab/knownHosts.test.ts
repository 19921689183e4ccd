/**
 * known_hosts as OpenSSH reads it (issue 12), on real sshd with rsa, ecdsa and ed25519 host keys: a known_hosts
 * written by `ssh-keyscan` (rsa first) and no hostKey pins converges every facet and verifies, with no false
 * mismatch; a really different key is still refused with the mismatch message; a @revoked key is refused as revoked.
 * Each verdict is checked against the OpenSSH client with the same file (StrictHostKeyChecking=yes), the baseline.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "ssh2";
import { parse } from "yaml";
import { hostKeysFrom } from "../../components/config/knownHosts";
import { loadCluster, namespaceKeys } from "../../components/config/load";
import { Cluster, Host } from "../../components/config/types";
import { renderHost } from "../../components/facets/index";
import { facetProvider, FacetOutputs } from "../../components/provider/facetProvider";
import { closeAll, Connection, fingerprint, hostKeyBlob, runScript } from "../../components/provider/remote";
import { runVerification } from "../../components/verify/run";
import { Lab, renderLabStack, startLab, stopLab } from "../../lab/lab";
import { labLogin } from "../../lab/login";
import { connectionFor } from "../../lab/harness/facetRunner";
import { labHost, Output, runLocal } from "../../lab/harness/labHelpers";
import { facetInputs, labCluster, newClusterKey } from "../../lab/harness/labCluster";

const LAB = "kh1";
let lab: Lab;
let dir: string;
const figures: string[] = [];

/** The connection MpiHost builds for a host of `cluster`: keys, revocations and their source from the loaded config. */
function connectionOf(cluster: Cluster, host: Host): Connection {
  return {
    ...connectionFor(lab, host.name),
    hostKeys: host.hostKeys,
    revokedKeys: host.revokedKeys,
    hostKeysFrom: hostKeysFrom(cluster, host),
  };
}

/** The lab's stack config with ssh.knownHostsPath pointing at `file` (no pins: keyscan mode). */
const sshWith = (file: string) => ({ user: "mpi", port: 2400, privateKeyPath: lab.privateKeyPath, knownHostsPath: file });

function clusterWith(file: string): Cluster {
  return labCluster(lab, { ssh: sshWith(file) });
}

/** A known_hosts file: `lines` about host1 first (so their line numbers are known), then host2's ssh-keyscan lines. */
function writeKnownHosts(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${[...lines, ...keyscanLines(lab.knownHostsPath, lab.hosts[1].address)].join("\n")}\n`);
  return file;
}

/** The baseline: the OpenSSH client with the same known_hosts file, strict checking, the lab key. */
function openssh(host: string, knownHosts: string): Promise<Output> {
  const h = labHost(lab, host);
  return runLocal("ssh", [
    ...["-F", "/dev/null", "-i", lab.privateKeyPath, "-p", String(h.port)],
    ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "ConnectTimeout=10"],
    `${h.user}@${h.address}`,
    "true",
  ]);
}

const keyscanLines = (file: string, address: string) =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith(`[${address}]:2400 `));

beforeAll(async () => {
  const started = Date.now();
  lab = await startLab({ name: LAB, hosts: 2, release: "trixie", knownHosts: "keyscan" });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kh-known-hosts-"));
  figures.push(`start a 2-host trixie lab, known_hosts by ssh-keyscan: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  await closeAll();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await stopLab(LAB);
  console.log(`knownHosts.test.ts figures\n  ${figures.join("\n  ")}`);
});

describe("known_hosts written by ssh-keyscan, no hostKey pins", () => {
  test("the file lists three key types per host, rsa first; the stack pins nothing; the loader takes every key", () => {
    for (const h of lab.hosts) {
      const lines = keyscanLines(lab.knownHostsPath, h.address);
      expect(lines.map((l) => l.split(" ")[1])).toEqual(["ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"]);
      expect(new Set(lines.map((l) => l.split(" ").slice(1, 3).join(" ")))).toEqual(new Set(h.hostKeys));
    }
    const stack = parse(renderLabStack(lab)).config;
    expect(stack["mpi-hosts:hosts"].map((h: Record<string, unknown>) => h.hostKey)).toEqual([undefined, undefined]);
    expect(stack["mpi-hosts:ssh"].knownHostsPath).toBe(lab.knownHostsPath);
    const cluster = labCluster(lab);
    for (const h of cluster.hosts) {
      expect(h).toMatchObject({ hostKeySource: "known_hosts", revokedKeys: [] });
      // Every key, in the loader's canonical order (sorted), whatever the file's order.
      expect(h.hostKeys.map((k) => k.split(" ")[0])).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]);
    }
  });

  test("the facet provider converges every facet of both hosts with no mismatch; a second look finds nothing to do", async () => {
    const cluster = labCluster(lab);
    const key = newClusterKey();
    const started = Date.now();
    const outputs: { id: string; outs: FacetOutputs; inputs: ReturnType<typeof facetInputs> }[] = [];
    await Promise.all(
      cluster.hosts.map(async (host) => {
        for (const facet of renderHost(cluster, host, key.publicKey)) {
          const inputs = facetInputs(lab, facet, key, connectionOf(cluster, host));
          const { id, outs } = (await facetProvider.create!(inputs)) as { id: string; outs: FacetOutputs };
          outputs.push({ id, outs, inputs });
        }
      }),
    );
    figures.push(`converge ${outputs.length} facets on 2 hosts, keys from ssh-keyscan: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await closeAll();
    for (const { id, outs, inputs } of outputs) {
      const read = (await facetProvider.read!(id, outs)).props as FacetOutputs;
      expect({ id, diff: await facetProvider.diff!(id, read, inputs) }).toMatchObject({ id, diff: { changes: false } });
    }
    // The hosts' own known_hosts (clusterTrust) lists every accepted key of every host, under its name and address.
    const trust = renderHost(cluster, cluster.hosts[0], key.publicKey).find((f) => f.facet === "clusterTrust")!;
    const entries = String(trust.desired.knownHosts)
      .split("\n")
      .filter((l) => l.startsWith("["));
    expect(entries).toHaveLength(6);
  });

  test("the verification job passes (head reached with the keys from known_hosts, hosts reach each other through clusterTrust's file)", async () => {
    const started = Date.now();
    const run = await runVerification(labCluster(lab), labLogin(lab), { tests: ["helloworld", "ringtest"] });
    figures.push(`verification job (helloworld, ringtest): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect({ code: run.code, failures: run.report?.failures.map((f) => f.message) }).toEqual({ code: 0, failures: [] });
  });

  test("OpenSSH agrees: the same file lets `ssh` in with strict checking", async () => {
    expect(await openssh("host1", lab.knownHostsPath)).toMatchObject({ code: 0 });
  });
});

describe("other ways users keep known_hosts", () => {
  test("hashed by `ssh-keygen -H` (HashKnownHosts): every key found, the host reached, OpenSSH agreeing", async () => {
    const file = path.join(dir, "hashed");
    fs.copyFileSync(lab.knownHostsPath, file);
    const hashing = await runLocal("ssh-keygen", ["-H", "-f", file]);
    expect(hashing.code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).not.toContain(lab.hosts[0].address);
    const cluster = clusterWith(file);
    expect(cluster.hosts.map((h) => h.hostKeys.length)).toEqual([3, 3]);
    await closeAll();
    expect(await runScript(connectionOf(cluster, cluster.hosts[0]), "echo in", { step: "hashed" })).toMatchObject({
      code: 0,
      stdout: "in\n",
    });
    expect(await openssh("host1", file)).toMatchObject({ code: 0 });
  });

  test("one wildcard line with a negation for the other host: it applies to host1 only", async () => {
    const [host1, host2] = lab.hosts;
    const subnet = host1.address.replace(/\.\d+$/, ".*");
    const lines = host1.hostKeys.map((k) => `[${subnet}]:2400,![${host2.address}]:2400 ${k}`);
    const file = path.join(dir, "wildcard");
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    const result = loadCluster(namespaceKeys(parse(renderLabStack(lab)).config), { readKnownHosts: () => fs.readFileSync(file, "utf8") });
    expect(result.problems.map((p) => p.path)).toEqual(["mpi-hosts:hosts[1].hostKey"]);
    const cluster = labCluster(lab, { hosts: [{ name: "host1", address: host1.address, os: "linux", slots: 2 }], ssh: sshWith(file) });
    expect(cluster.hosts[0].hostKeys).toEqual([...host1.hostKeys].sort());
    await closeAll();
    expect(await runScript(connectionOf(cluster, cluster.hosts[0]), "echo in", { step: "wildcard" })).toMatchObject({ code: 0 });
    expect(await openssh("host1", file)).toMatchObject({ code: 0 });
    expect((await openssh("host2", file)).code).toBe(255);
  });
});

describe("keys that must be refused", () => {
  test("a really different key (host1's line holds host2's keys): the mismatch message with both fingerprints; OpenSSH refuses too", async () => {
    const [host1, host2] = lab.hosts;
    const file = writeKnownHosts(
      "reinstalled",
      keyscanLines(lab.knownHostsPath, host2.address).map((l) => l.replace(host2.address, host1.address)),
    );
    const cluster = clusterWith(file);
    const presented = fingerprint(hostKeyBlob(host1.hostKey));
    const expected = cluster.hosts[0].hostKeys.map((k) => fingerprint(hostKeyBlob(k)));
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    await closeAll();
    await expect(runScript(connectionOf(cluster, cluster.hosts[0]), "touch /tmp/kh-ran", { step: "mismatch" })).rejects.toThrow(
      new RegExp(
        // The known keys as a sorted set ("type base64"): ecdsa, ed25519, rsa, whatever the file's order.
        `^host1 \\(mpi@${escape(host1.address)}:2400\\): host key mismatch: expected ${escape(expected[0])} \\(ecdsa-sha2-nistp256\\) or ` +
          `${escape(expected[1])} \\(ssh-ed25519\\) or ${escape(expected[2])} \\(ssh-rsa\\) \\(listed in ${escape(file)}\\), ` +
          `got ${escape(presented)}\\. If the host was reinstalled, check the new key out of band`,
      ),
    );
    const baseline = await openssh("host1", file);
    expect(baseline.code).toBe(255);
    expect(baseline.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  test("a @revoked key is refused as revoked, naming the line, even where it is also listed plainly; OpenSSH refuses too", async () => {
    const [host1, host2] = lab.hosts;
    const hostName = `[${host1.address}]:2400`;
    // host1's ed25519 listed plainly and revoked; a (stale) ed25519 the admin added makes ed25519 the type to ask for.
    const file = writeKnownHosts("revoked", [
      `${hostName} ${host1.hostKey}`,
      `${hostName} ${host2.hostKey}`,
      `@revoked * ${host1.hostKey}`,
    ]);
    const cluster = clusterWith(file);
    expect(cluster.hosts[0]).toMatchObject({ hostKeys: [host2.hostKey], revokedKeys: [{ key: host1.hostKey, where: `${file}:3` }] });
    await closeAll();
    await expect(runScript(connectionOf(cluster, cluster.hosts[0]), "touch /tmp/kh-ran", { step: "revoked" })).rejects.toThrow(
      `host1 (mpi@${host1.address}:2400): host key ${fingerprint(hostKeyBlob(host1.hostKey))} is revoked (@revoked at ${file}:3); nothing ran.`,
    );
    const baseline = await openssh("host1", file);
    expect(baseline.code).toBe(255);
    expect(baseline.stderr).toMatch(/revoked/i);
  });

  test("a revoked key is not asked for while the host has other known keys: the connection goes through with those, as with OpenSSH", async () => {
    const [host1] = lab.hosts;
    const lines = keyscanLines(lab.knownHostsPath, host1.address);
    const file = writeKnownHosts("revoked-ed25519", [...lines, `@revoked [${host1.address}]:* ${host1.hostKey}`]);
    const cluster = clusterWith(file);
    expect(cluster.hosts[0].hostKeys.map((k) => k.split(" ")[0])).toEqual(["ecdsa-sha2-nistp256", "ssh-rsa"]);
    await closeAll();
    const result = await runScript(connectionOf(cluster, cluster.hosts[0]), "echo in", { step: "revoked ed25519" });
    expect(result).toMatchObject({ code: 0, stdout: "in\n" });
    expect(await openssh("host1", file)).toMatchObject({ code: 0 });
  });

  test("nothing ran on host1 in any refused connection", async () => {
    const probe = await runScript(connectionOf(labCluster(lab), labCluster(lab).hosts[0]), "ls /tmp/kh-ran 2>&1 || true", {
      step: "check",
    });
    expect(probe.stdout).toMatch(/No such file/);
  });
});

/** The command provider the engine runs here (standins/README.md), driven directly as test/lab/commandProvider.test.ts does. */
const standIn = require(path.join(__dirname, "../../standins/command-provider/pulumi-resource-command.js")) as {
  runRemote(urn: string, props: Record<string, unknown>, cmd: string): Promise<{ stdout: string }>;
};

describe("the verification job's single key (@pulumi/command 1.2.1 asks only for its key's type)", () => {
  const jobConnection = (hostKey: string) => {
    const h = lab.hosts[0];
    return {
      host: h.address,
      port: h.port,
      user: h.user,
      privateKey: fs.readFileSync(lab.privateKeyPath, "utf8"),
      hostKey,
      dialErrorLimit: 1,
    };
  };
  const keyOf = (type: string) => lab.hosts[0].hostKeys.find((k) => k.startsWith(`${type} `))!;

  test("the job gets the host's ed25519 key from an rsa-first known_hosts, and the command provider runs it", async () => {
    const { preferredHostKey } = await import("../../components/provider/hostKeys");
    const head = labCluster(lab).hosts[0];
    // ssh-keyscan's file lists rsa first; the loader keeps all three keys (as a sorted set).
    expect(fs.readFileSync(lab.knownHostsPath, "utf8").split("\n")[0]).toMatch(/ ssh-rsa /);
    expect(head.hostKeys.map((k) => k.split(" ")[0]).sort()).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]);
    expect(preferredHostKey(head.hostKeys)).toBe(keyOf("ssh-ed25519"));
    const run = await standIn.runRemote("", { connection: jobConnection(preferredHostKey(head.hostKeys)!), logging: "none" }, "echo ok");
    expect(run.stdout.trim()).toBe("ok");
  });

  test("an ecdsa hostKey on a host that also has ed25519: the provider asks for ecdsa only, as connection.go does, and runs", async () => {
    const run = await standIn.runRemote("", { connection: jobConnection(keyOf("ecdsa-sha2-nistp256")), logging: "none" }, "echo ok");
    expect(run.stdout.trim()).toBe("ok");
  });

  test("an rsa hostKey: the provider asks for `ssh-rsa` only, which the lab's OpenSSH no longer offers: the dial fails", async () => {
    await expect(standIn.runRemote("", { connection: jobConnection(keyOf("ssh-rsa")), logging: "none" }, "echo ok")).rejects.toThrow(
      /no matching host key format/,
    );
  });

  test("asking the lab's OpenSSH only for `ssh-rsa` (SHA-1), as x/crypto does for an rsa hostKey, fails the handshake", async () => {
    const h = lab.hosts[0];
    const outcome = await new Promise<string>((resolve) => {
      const client = new Client();
      client.on("ready", () => {
        client.end();
        resolve("connected");
      });
      client.on("error", (e) => resolve(e.message));
      client.connect({
        host: h.address,
        port: h.port,
        username: h.user,
        privateKey: fs.readFileSync(lab.privateKeyPath),
        algorithms: { serverHostKey: ["ssh-rsa"] },
        readyTimeout: 10000,
      });
    });
    expect(outcome).toBe("Handshake failed: no matching host key format");
    const sshd = await runLocal("ssh", ["-V"]);
    figures.push(`rsa-only ask (ssh-rsa): "${outcome}"; this machine's client: ${sshd.stderr.trim()}`);
  });
});

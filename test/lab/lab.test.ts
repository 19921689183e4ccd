/**
 * The lab, for real: hosts in namespaces on this machine, reached over SSH like the product will reach them,
 * and checked from inside with rootExec (an independent baseline). Needs root; nothing is mocked or skipped.
 *   npx jest --selectProjects lab test/lab/lab.test.ts --runInBand
 */
import { parse } from "yaml";
import { Lab, labStatus, renderLabStack, rootExec, startHost, startLab, stopHost, stopLab } from "../../lab/lab";
import {
  giveMpiUserClusterSsh,
  labHost,
  labTraces,
  netnsInodes,
  opensshExec,
  rootOk,
  sshExec,
  tcpConnectFrom,
} from "../../lab/harness/labHelpers";
import { startListeners } from "./support/traffic";

// Names of their own, so that the tests never touch a lab someone started by hand (default name `lab`).
const LAB = "jest";
const BOOKWORM_LAB = "jest-bw";
const HOSTS = ["host1", "host2", "host3"];

// The project-level `testTimeout` in jest.config.js is not applied by jest 29 (it warns "Unknown option").
jest.setTimeout(300000);

let lab: Lab;
let inodes: number[] = [];

beforeAll(async () => {
  const started = Date.now();
  lab = await startLab({ name: LAB, hosts: 3, release: "trixie" });
  inodes = netnsInodes(lab);
  console.log(`lab '${LAB}': ${lab.hosts.length} trixie hosts on ${lab.network} answer SSH after ${Date.now() - started} ms`);
});

afterAll(async () => {
  // Always, also after a failure: a lab left running would hold namespaces, a bridge and a subnet.
  await stopLab(BOOKWORM_LAB);
  await stopLab(LAB);
});

describe("a 3-host trixie lab", () => {
  test("every host answers SSH on port 2400 as mpi with the lab key and presents its pinned host key", async () => {
    for (const host of lab.hosts) {
      expect(host).toMatchObject({ port: 2400, user: "mpi", release: "trixie", up: true });
      expect(host.hostKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
      const result = await sshExec(lab, host.name, "id -un; echo $SHELL");
      expect(result).toMatchObject({ code: 0, stdout: "mpi\n/bin/bash\n" });
    }
    expect(new Set(lab.hosts.map((h) => h.hostKey)).size).toBe(3);
  });

  test("a host presenting a key other than the pinned one is refused", async () => {
    await expect(sshExec(lab, "host1", "true", { pinned: labHost(lab, "host2").hostKey })).rejects.toThrow(/host key differs/);
  });

  test("OpenSSH with StrictHostKeyChecking=yes accepts the same pinned keys", async () => {
    for (const name of HOSTS) {
      const result = await opensshExec(lab, name, "hostname");
      expect(result).toMatchObject({ code: 0, stdout: `${name}\n` });
    }
  });

  test("each host has its own hostname, and /etc/hosts names every lab host", async () => {
    const names = await Promise.all(HOSTS.map(async (h) => (await sshExec(lab, h, "hostname")).stdout.trim()));
    expect(names).toEqual(HOSTS);
    const resolved = await sshExec(lab, "host1", "getent hosts host2 host3 localhost");
    expect(
      resolved.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(/\s+/).slice(0, 2).join(" ")),
    ).toEqual([`${labHost(lab, "host2").address} host2`, `${labHost(lab, "host3").address} host3`, "127.0.0.1 localhost"]);
  });

  test("mpi has passwordless sudo", async () => {
    const result = await sshExec(lab, "host2", "sudo -n true && sudo -n id -u");
    expect(result).toMatchObject({ code: 0, stdout: "0\n" });
  });

  test("/dev/shm and /tmp belong to one host only", async () => {
    await sshExec(lab, "host1", "echo one > /dev/shm/lab-test && echo one > /tmp/lab-test");
    expect((await rootOk(lab, "host1", "cat /dev/shm/lab-test /tmp/lab-test")).split("\n")).toEqual(["one", "one", ""]);
    for (const other of ["host2", "host3"]) {
      const result = await rootExec(lab, other, "ls /dev/shm/lab-test /tmp/lab-test");
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/No such file/);
    }
    // Nor is it the machine's own /dev/shm.
    expect(require("fs").existsSync("/dev/shm/lab-test")).toBe(false);
  });

  test("the default firewall drops a connection to a listening MPI port while SSH gets through", async () => {
    const listener = await startListeners(lab, "host2", [50000]);
    expect(await rootOk(lab, "host2", "iptables -S INPUT")).toMatch(/^-P INPUT DROP$/m);
    expect(await tcpConnectFrom(lab, "host2", "127.0.0.1", 50000, 2)).toMatchObject({ outcome: "connected" });

    const dropped = await tcpConnectFrom(lab, "host1", "host2", 50000, 2);
    expect(dropped.outcome).toBe("timeout"); // dropped, not refused: the port is open behind the firewall
    expect(dropped.seconds).toBeGreaterThanOrEqual(1.9);
    expect(await tcpConnectFrom(lab, "host1", "host2", 2400, 2)).toMatchObject({ outcome: "connected" });

    // The same connect succeeds once the policy accepts: it was the firewall, not the listener.
    await rootOk(lab, "host2", "iptables -P INPUT ACCEPT");
    expect(await tcpConnectFrom(lab, "host1", "host2", 50000, 2)).toMatchObject({ outcome: "connected" });
    await rootOk(lab, "host2", `kill ${listener}; iptables -P INPUT DROP`);
  });

  test("mpirun runs mpi4py's helloworld and ringtest across the three hosts once the firewall is open", async () => {
    // The product will open the MPI ports and write the ssh config itself; here the test does it by hand.
    await Promise.all(HOSTS.map((h) => rootOk(lab, h, "iptables -P INPUT ACCEPT")));
    await giveMpiUserClusterSsh(lab);
    expect((await sshExec(lab, "host1", "ssh host3 hostname")).stdout).toBe("host3\n");

    const hosts = "--host host1:2,host2:2,host3:2";
    const hello = await sshExec(lab, "host1", `timeout 120 mpirun -np 6 ${hosts} python3 -m mpi4py.bench helloworld`);
    expect(hello.code).toBe(0);
    expect(hello.stdout.trim().split("\n").sort()).toEqual(
      [0, 1, 2, 3, 4, 5].map((rank) => `Hello, World! I am process ${rank} of 6 on host${Math.floor(rank / 2) + 1}.`),
    );
    // Two ranks per host talk through the host's own /dev/shm; ringtest also crosses the network.
    const ring = await sshExec(lab, "host1", `timeout 120 mpirun -np 6 ${hosts} python3 -m mpi4py.bench ringtest`);
    expect(ring.code).toBe(0);
    expect(ring.stdout).toMatch(/time for 1 loops = [\d.e-]+ seconds \(6 processes, 1 bytes\)/);
  });

  test("stopHost and startHost keep the disk, address and host key; the reboot brings back the default firewall", async () => {
    const before = (await labStatus(LAB))!;
    await giveMpiUserClusterSsh(lab); // done again so this test also runs alone (jest -t)
    await sshExec(lab, "host3", "echo kept > ~/disk.txt && echo gone > /tmp/tmp.txt && echo gone > /dev/shm/shm.txt");

    let started = Date.now();
    await stopHost(lab, "host3");
    const stopMs = Date.now() - started;
    const during = (await labStatus(LAB))!;
    expect(labHost(during, "host3")).toMatchObject({ up: false, pid: 0 });
    expect(labHost(during, "host1")).toMatchObject({ up: true, pid: labHost(before, "host1").pid });
    await expect(sshExec(lab, "host3", "true", { timeoutMs: 5000 })).rejects.toThrow();
    await expect(rootExec(lab, "host3", "true")).rejects.toThrow(/host3 is down/);
    expect(await tcpConnectFrom(lab, "host1", "host3", 2400, 2)).not.toMatchObject({ outcome: "connected" });

    started = Date.now();
    const back = await startHost(lab, "host3");
    console.log(`stopHost took ${stopMs} ms, startHost ${Date.now() - started} ms`);
    const old = labHost(before, "host3");
    expect(back).toMatchObject({ up: true, address: old.address, hostKey: old.hostKey });
    expect(back.pid).not.toBe(old.pid);

    // sshExec pins the key recorded at the first boot.
    const after = await sshExec(lab, "host3", "hostname; cat ~/disk.txt; ls /tmp/tmp.txt /dev/shm/shm.txt 2>&1; sudo -n iptables -S INPUT");
    expect(after.stdout).toMatch(/^host3\nkept\n/);
    expect(after.stdout).toMatch(/tmp\.txt': No such file/);
    expect(after.stdout).toMatch(/shm\.txt': No such file/);
    expect(after.stdout).toMatch(/^-P INPUT DROP$/m);
    // Other hosts reach it by name with the same pinned key (their known_hosts was written before the restart).
    expect((await sshExec(lab, "host1", "ssh host3 cat disk.txt")).stdout).toBe("kept\n");
  });

  test("labStatus and renderLabStack describe the running lab", async () => {
    const status = (await labStatus(LAB))!;
    expect(status.hosts.map((h) => [h.name, h.up])).toEqual(HOSTS.map((h) => [h, true]));
    expect(status.network).toBe(lab.network);

    const text = renderLabStack(status);
    expect(text.split("\n")[0]).toBe("# Written by `npm run lab -- up`: the local lab of test hosts. Regenerated on every `lab up`.");
    const { config } = parse(text);
    expect(config["mpi-hosts:ssh"]).toEqual({ user: "mpi", port: 2400, privateKeyPath: lab.privateKeyPath });
    expect(config["mpi-hosts:hosts"]).toEqual(
      status.hosts.map((h) => ({ name: h.name, address: h.address, os: "linux", slots: 2, hostKey: h.hostKey })),
    );
    expect(config["mpi-hosts:mpi"]).toEqual({ network: lab.network, btlPorts: "50000-50099", oobPorts: "ephemeral" });
    expect(config["mpi-hosts:firewall"]).toEqual({ backend: "auto", allowFrom: [lab.network] });
    expect(config["mpi-hosts:verify"]).toEqual({ from: "host1", tests: ["helloworld", "ringtest"], timeoutSeconds: 60 });
  });
});

describe("a bookworm lab beside it", () => {
  test("Open MPI 4.1 and mpi4py 3.1 run across two bookworm hosts on a subnet of their own", async () => {
    const started = Date.now();
    const bw = await startLab({ name: BOOKWORM_LAB, releases: ["bookworm", "bookworm"], firewall: "none" });
    console.log(`lab '${BOOKWORM_LAB}': 2 bookworm hosts on ${bw.network} answer SSH after ${Date.now() - started} ms`);
    const bwInodes = netnsInodes(bw);
    expect(bw.network).not.toBe(lab.network);
    expect(bw.bridge).not.toBe(lab.bridge);
    expect(await rootOk(bw, "host1", "iptables -S INPUT")).toBe("-P INPUT ACCEPT\n");

    await giveMpiUserClusterSsh(bw);
    const versions = await sshExec(bw, "host1", "mpirun --version | head -n1; python3 -c 'import mpi4py; print(mpi4py.__version__)'");
    expect(versions.stdout).toMatch(/^mpirun \(Open MPI\) 4\.1\.\d+\n3\.1\.\d+\n$/);
    const hello = await sshExec(bw, "host1", "timeout 120 mpirun -np 4 --host host1:2,host2:2 python3 -m mpi4py.bench helloworld");
    expect(hello.code).toBe(0);
    expect(hello.stdout.trim().split("\n").sort()).toEqual(
      [0, 1, 2, 3].map((rank) => `Hello, World! I am process ${rank} of 4 on host${Math.floor(rank / 2) + 1}.`),
    );
    // The trixie lab keeps running meanwhile.
    expect((await sshExec(lab, "host1", "hostname")).stdout).toBe("host1\n");

    await stopLab(BOOKWORM_LAB);
    expect(await labTraces(bw, bwInodes)).toEqual([]);
  });
});

test("stopLab leaves no namespaces, links, processes, mounts or state behind", async () => {
  const started = Date.now();
  await stopLab(LAB);
  console.log(`stopLab took ${Date.now() - started} ms`);
  expect(await labTraces(lab, inodes)).toEqual([]);
  expect(await labStatus(LAB)).toBeUndefined();
  await expect(stopLab(LAB)).resolves.toBeUndefined(); // nothing left to stop: still fine
});

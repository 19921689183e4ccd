/**
 * Issue 15 on real hosts (a 3-host trixie lab, and a 2-host bookworm lab for item 2; no firewall in the way): one test per finding, each checked with plain
 * tools from inside the host (rootExec) or with the OpenSSH client, not with mpi-hosts' own probes.
 *   item 1: sudo and sh by absolute path, whatever the login shell's PATH (the conda prefix first); a conda prefix
 *           that others can write is refused with a clear message;
 *   item 2: the cluster key runs commands only (no pty, no ~/.ssh/rc) and only from mpi.network, and mpirun works;
 *   item 8: the python (system) facet's root steps import nothing from the user's home; sshConfig apply puts the
 *           config back as it was when ssh rejects it.
 * The conda kind runs against the TEST DOUBLE of the conda CLI (test/doubles/conda).
 *   npx jest --selectProjects lab --runInBand test/security/hosts.lab.test.ts
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAll, Connection, runParts, runScript } from "../../components/provider/remote";
import { shellQuote } from "../../components/templates/shellQuote";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { labHost, rootOk, runLocal, sshExec } from "../../lab/harness/labHelpers";
import { installCondaDouble, MPI_HOME, readHostFile, writeUserFile } from "../lab/support/hostState";
import { ClusterKeyPair, facetOf, labCluster, newClusterKey, secretEnvFor } from "../../lab/harness/labCluster";

jest.setTimeout(600000);

const LAB = "sec";
const PREFIX = "/opt/anaconda";
/** host1 and host2 get the cluster trust and run MPI; host3 holds the conda double and a broken ssh config. */
const CONDA_HOST = "host3";

let lab: Lab;
let key: ClusterKeyPair;

beforeAll(async () => {
  lab = await startLab({ name: LAB, hosts: 3, release: "trixie", firewall: "none" });
  key = newClusterKey();
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
});

/** Runs a facet's script and returns how it ended instead of throwing (runFacet throws on a non-zero exit). */
async function tryFacet(conn: Connection, facet: ReturnType<typeof facetOf>, kind: "apply" | "remove") {
  return runScript(conn, facet.scripts[kind], {
    sudo: facet.privileged,
    env: secretEnvFor(facet, key),
    step: `${facet.facet} ${kind}`,
    timeoutSeconds: 120,
  });
}

describe("item 1: privileged steps and the conda prefix", () => {
  const conda = () => labCluster(lab, { python: { kind: "conda", prefix: PREFIX } });
  const PLANTED = "/tmp/sec-planted.log";

  beforeAll(async () => {
    await installCondaDouble(lab, CONDA_HOST, PREFIX);
    // The python facet puts the prefix's bin first on PATH for non-interactive shells (~/.bashrc, ~/.zshenv).
    await runFacet(connectionFor(lab, CONDA_HOST), facetOf(conda(), CONDA_HOST, key, "python"), "apply");
  });

  test("sudo and sh run by absolute path, not whatever the conda prefix holds under those names", async () => {
    // What anyone who can write <prefix>/bin could leave there: a sudo and an sh that log, then do the real thing.
    const shim = (real: string) => `#!/bin/sh\necho "$0 $*" >>${PLANTED}\nexec ${real} "$@"\n`;
    await writeUserFile(lab, CONDA_HOST, `${PREFIX}/bin/sudo`, shim("/usr/bin/sudo"), "755");
    await writeUserFile(lab, CONDA_HOST, `${PREFIX}/bin/sh`, shim("/bin/sh"), "755");
    await rootOk(lab, CONDA_HOST, `: >${PLANTED}; chmod 666 ${PLANTED}`);
    try {
      // The login shell does find them first: the attack surface is real.
      expect((await sshExec(lab, CONDA_HOST, "command -v sudo sh")).stdout).toBe(`${PREFIX}/bin/sudo\n${PREFIX}/bin/sh\n`);
      const conn = connectionFor(lab, CONDA_HOST);
      const asRoot = await runScript(conn, "id -u", { sudo: true, step: "sec root", timeoutSeconds: 60 });
      const asUser = await runScript(conn, "id -un", { step: "sec user", timeoutSeconds: 60 });
      const both = await runParts(
        conn,
        [
          { script: "id -u", sudo: true, step: "sec part root" },
          { script: "id -un", step: "sec part user" },
        ],
        60,
      );
      expect([asRoot.stdout, asUser.stdout, both.map((r) => r.stdout)]).toEqual(["0\n", "mpi\n", ["0\n", "mpi\n"]]);
      expect(await rootOk(lab, CONDA_HOST, `cat ${PLANTED}`)).toBe("");
    } finally {
      await rootOk(lab, CONDA_HOST, `rm -f ${PREFIX}/bin/sudo ${PREFIX}/bin/sh ${PLANTED}`);
    }
  });

  test("a host without /usr/bin/sudo: a privileged step fails saying so, naming host and user", async () => {
    await rootOk(lab, CONDA_HOST, "mv /usr/bin/sudo /usr/bin/sudo.sec-off");
    try {
      const run = runScript(connectionFor(lab, CONDA_HOST), "id -u", { sudo: true, step: "firewall probe", timeoutSeconds: 60 });
      await expect(run).rejects.toThrow(
        /^host3: firewall probe needs root, and there is no \/usr\/bin\/sudo on host3: .*passwordless sudo/,
      );
    } finally {
      await rootOk(lab, CONDA_HOST, "mv /usr/bin/sudo.sec-off /usr/bin/sudo");
    }
  });

  test.each([
    [
      "its bin writable by a group",
      `chgrp users ${PREFIX}/bin && chmod 775 ${PREFIX}/bin`,
      /\/opt\/anaconda\/bin writable by group users \(mode 775\)/,
    ],
    ["the prefix writable by others", `chmod 757 ${PREFIX}`, /\/opt\/anaconda writable by others \(mode 757\)/],
    ["the prefix owned by another user", `chown nobody ${PREFIX}`, /\/opt\/anaconda owned by nobody \(not mpi or root\)/],
  ])(
    "a conda prefix with %s: apply refuses it, saying what to do; a refresh reports it and runs nothing from it",
    async (_what, change, problem) => {
      const facet = facetOf(conda(), CONDA_HOST, key, "python");
      const conn = connectionFor(lab, CONDA_HOST);
      const before = await rootOk(lab, CONDA_HOST, `stat -c '%a %U %G' ${PREFIX} ${PREFIX}/bin`);
      // A python that leaves a mark when it runs: the probe must not run it from such a prefix.
      await rootOk(lab, CONDA_HOST, `cp -p ${PREFIX}/bin/python ${PREFIX}/bin/python.real`);
      await writeUserFile(
        lab,
        CONDA_HOST,
        `${PREFIX}/bin/python`,
        `#!/bin/sh\ntouch /tmp/sec-python-ran\nexec ${PREFIX}/bin/python.real "$@"\n`,
        "755",
      );
      await rootOk(lab, CONDA_HOST, change);
      try {
        const applied = await tryFacet(conn, facet, "apply");
        expect(applied.code).not.toBe(0);
        expect(applied.stderr).toMatch(/refusing the conda prefix \/opt\/anaconda: /);
        expect(applied.stderr).toMatch(problem);
        expect(applied.stderr).toMatch(/chmod -R go-w \/opt\/anaconda/);
        await rootOk(lab, CONDA_HOST, "rm -f /tmp/sec-python-ran");
        const { differences } = await probe(conn, facet);
        expect(differences.map((d) => d.key)).toEqual(["mpi4py", "openmpi", "prefixAccess"]);
        expect(String(differences.find((d) => d.key === "prefixAccess")?.actual)).toMatch(problem);
        expect(await rootOk(lab, CONDA_HOST, "ls /tmp/sec-python-ran 2>&1 || true")).toMatch(/No such file/);
      } finally {
        const [prefixMode, prefixOwner, prefixGroup] = before.split("\n")[0].split(" ");
        const [binMode, , binGroup] = before.split("\n")[1].split(" ");
        await rootOk(
          lab,
          CONDA_HOST,
          `chown ${prefixOwner}:${prefixGroup} ${PREFIX} && chmod ${prefixMode} ${PREFIX} && chgrp ${binGroup} ${PREFIX}/bin && chmod ${binMode} ${PREFIX}/bin && mv ${PREFIX}/bin/python.real ${PREFIX}/bin/python`,
        );
      }
      // Private again: in sync, nothing to do.
      expect((await probe(conn, facet)).differences).toEqual([]);
    },
  );
});

// Open MPI 5 (PRRTE, trixie) and 4.1 (ORTE, bookworm) launch their daemons differently: both must still work.
describe.each(["trixie", "bookworm"] as const)(
  "item 2 (%s): the cluster key starts MPI daemons, nothing more, from the cluster network only",
  (release) => {
    const HOSTS = ["host1", "host2"];
    const OWN_LAB = `${LAB}-${release}`;
    /** trixie: the suite's lab; bookworm: a 2-host lab of its own. */
    let mpiLab: Lab;
    /** The cluster network is a /29 around the hosts (.8-.15); the firewall may admit the whole lab /24. */
    const narrow = () => mpiLab.network.replace(/\.0\/24$/, ".8/29");
    const cluster = () =>
      labCluster(mpiLab, {
        mpi: { network: narrow(), btlPorts: "50000-50099", oobPorts: "ephemeral" },
        firewall: { backend: "auto", allowFrom: [mpiLab.network] },
      });

    beforeAll(async () => {
      mpiLab = release === "trixie" ? lab : await startLab({ name: OWN_LAB, hosts: 2, release, firewall: "none" });
      expect(mpiLab.network).toMatch(/\.0\/24$/);
      for (const h of HOSTS) {
        for (const name of ["sshConfig", "clusterTrust", "mcaParams", "hostfile"]) {
          const facet = facetOf(cluster(), h, key, name);
          await runFacet(connectionFor(mpiLab, h), facet, "apply", secretEnvFor(facet, key));
        }
      }
    });

    afterAll(async () => {
      if (release === "trixie") return;
      await closeAll();
      await stopLab(OWN_LAB);
    });

    test("mpirun still starts its daemons over ssh with the cluster key and runs mpi4py across two hosts", async () => {
      const run = await sshExec(mpiLab, "host1", "mpirun -H host1:2,host2:2 -np 4 python3 -m mpi4py.bench helloworld 2>&1", {
        timeoutMs: 120000,
      });
      expect(run.stdout).toMatch(/Hello, World! I am process 3 of 4 on host2\./);
      expect(run.code).toBe(0);
    });

    test("no pty for the cluster key", async () => {
      const run = await sshExec(mpiLab, "host1", "ssh -tt host2 tty 2>&1; echo exit=$?");
      expect(run.stdout).not.toMatch(/\/dev\/pts\//);
      expect(run.stdout).toMatch(/PTY allocation request failed/);
    });

    test("~/.ssh/rc does not run for the cluster key", async () => {
      const host1 = labHost(mpiLab, "host1").address;
      await writeUserFile(mpiLab, "host2", `${MPI_HOME}/.ssh/rc`, 'echo "$SSH_CONNECTION" >>/tmp/sec-rc.log\n', "700");
      try {
        const run = await sshExec(mpiLab, "host1", "ssh host2 echo ran");
        expect(run.stdout).toBe("ran\n");
        const log = await rootOk(mpiLab, "host2", "cat /tmp/sec-rc.log 2>/dev/null || true");
        expect(log.split("\n").filter((l) => l.startsWith(`${host1} `))).toEqual([]);
      } finally {
        await rootOk(mpiLab, "host2", `rm -f ${MPI_HOME}/.ssh/rc /tmp/sec-rc.log`);
      }
    });

    test("the cluster key is refused from an address the firewall admits but outside mpi.network", async () => {
      // This machine is the lab's .1: inside firewall.allowFrom (the /24), outside mpi.network (the /29).
      const host = labHost(mpiLab, "host2");
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sec-key-"));
      try {
        fs.writeFileSync(path.join(dir, "key"), key.privateKey, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "known_hosts"), `[${host.address}]:${host.port} ${host.hostKey}\n`);
        const ssh = (keyFile: string) =>
          runLocal("ssh", [
            ...["-F", "/dev/null", "-i", keyFile, "-p", String(host.port)],
            ...["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"],
            ...["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(dir, "known_hosts")}`],
            `${host.user}@${host.address}`,
            "echo in",
          ]);
        const withClusterKey = await ssh(path.join(dir, "key"));
        expect(withClusterKey.stdout).toBe("");
        expect(withClusterKey.stderr).toMatch(/Permission denied/);
        // The same login with the lab's own key works: it is the cluster key that is refused here.
        expect((await ssh(mpiLab.privateKeyPath)).stdout).toBe("in\n");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe("item 8: small ones", () => {
  test("the python (system) facet's root steps do not import a module from the user's home", async () => {
    const facet = facetOf(labCluster(lab), "host2", key, "python");
    expect(facet.privileged).toBe(true);
    // Anyone who can write the user's home (the user, or a process of theirs) leaves an mpi4py.py there.
    const shadow = 'import os\nopen("/tmp/sec-shadow-uid-%d" % os.getuid(), "w").write("ran")\n__version__ = "6.6.6"\n';
    await writeUserFile(lab, "host2", `${MPI_HOME}/mpi4py.py`, shadow, "644");
    try {
      // The shadow is real: plain python3 in the home imports it.
      expect((await sshExec(lab, "host2", "python3 -c 'import mpi4py; print(mpi4py.__version__)'")).stdout).toBe("6.6.6\n");
      await rootOk(lab, "host2", "rm -f /tmp/sec-shadow-uid-*");
      const applied = await runFacet(connectionFor(lab, "host2"), facet, "apply");
      expect(await rootOk(lab, "host2", "ls /tmp/sec-shadow-uid-0 2>&1 || true")).toMatch(/No such file/);
      expect(applied.stderr).toMatch(/python: already in sync, no change \(mpi4py 4\.0\.\d+/);
    } finally {
      await rootOk(lab, "host2", `rm -f ${MPI_HOME}/mpi4py.py /tmp/sec-shadow-uid-*`);
    }
  });

  test("sshConfig apply leaves ~/.ssh/config as it was (bytes, mode, time) when ssh rejects the result", async () => {
    const facet = facetOf(labCluster(lab), CONDA_HOST, key, "sshConfig");
    const config = `${MPI_HOME}/.ssh/config`;
    // A typo of the user's own: ssh -G fails on it.
    await writeUserFile(lab, CONDA_HOST, config, "# mine\nHost myserver\n  HostName myserver.example.org\n  Bogusoption yes\n", "644");
    await rootOk(lab, CONDA_HOST, `touch -d '2024-01-02 03:04:05' ${config}`);
    const seen = async () =>
      `${await readHostFile(lab, CONDA_HOST, config)}|${await rootOk(lab, CONDA_HOST, `stat -c '%a %U %Y' ${config}`)}`;
    const before = await seen();
    try {
      const applied = await tryFacet(connectionFor(lab, CONDA_HOST), facet, "apply");
      expect(applied.code).not.toBe(0);
      expect(await seen()).toBe(before);
      expect(applied.stderr).toMatch(/ssh rejects \/home\/mpi\/\.ssh\/config even without the mpi-hosts block.*back as it was/);
      expect(applied.stderr).toMatch(/bogusoption/i);
      expect(await rootOk(lab, CONDA_HOST, `ls -A ${MPI_HOME}/.ssh | grep -c '^\\.mpi-hosts' || true`)).toBe("0\n");
    } finally {
      await rootOk(lab, CONDA_HOST, `rm -f ${shellQuote(config)}`);
    }
  });
});

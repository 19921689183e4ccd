/**
 * Every facet but the firewall (tested on its own), for real, on lab hosts of both images, in Molecule's order:
 * fresh host -> probe (everything differs) -> apply -> probe (in sync) -> check with plain tools -> apply again
 * (no change, same bytes and mtimes) -> hand edits (probe names exactly them) -> remove (original bytes back).
 * The user's own content in the files we share is seeded first and must survive byte for byte.
 * The conda kind runs against a TEST DOUBLE of the conda CLI (test/doubles/conda): conda cannot be downloaded here.
 *   npx jest --selectProjects lab --runTestsByPath test/lab/facets.test.ts --runInBand
 */
import { describeDifferences } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { PLACEHOLDER_PREFIX } from "../../components/facets/prefixLink";
import { closeAll, Connection } from "../../components/provider/remote";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { labHost, rootOk, sshExec } from "../../lab/harness/labHelpers";
import { ClusterKeyPair, facetOf, facetsOf, labCluster, newClusterKey, secretEnvFor } from "../../lab/harness/labCluster";
import {
  condaCalls,
  DEBIAN_NONINTERACTIVE_GUARD,
  installCondaDouble,
  makePackagesInstallableOffline,
  MPI_HOME,
  readHostFile,
  seedUserContent,
  setCondaDouble,
  snapshot,
  UserContent,
} from "./support/hostState";
import { Timings } from "./support/timings";

jest.setTimeout(300000);

/** host1 and host2 get every facet (system python); host3 is where the conda kind runs against the double. */
const MANAGED = ["host1", "host2"];
const CONDA_HOST = "host3";
const PREFIX = "/opt/anaconda";
const MPI_PACKAGES = ["openmpi-bin", "python3-mpi4py"];

const timings = new Timings("facets.test.ts timings");
const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);
afterAll(() => timings.print());

describe.each(["trixie", "bookworm"] as const)("facets on %s hosts", (release) => {
  const LAB = `facets-${release}`;
  let lab: Lab;
  let key: ClusterKeyPair;
  /** Facets of each managed host in apply order, firewall left out. */
  const facets: Record<string, RenderedFacet[]> = {};
  const conn: Record<string, Connection> = {};
  const seeded: Record<string, UserContent> = {};
  const before: Record<string, string> = {};

  const apply = (host: string, f: RenderedFacet) => runFacet(conn[host], f, "apply", secretEnvFor(f, key));
  const remove = (host: string, f: RenderedFacet) => runFacet(conn[host], f, "remove", secretEnvFor(f, key));
  const facet = (host: string, name: string) => facets[host].find((f) => f.facet === name)!;
  const home = (file: string) => `${MPI_HOME}/${file}`;

  beforeAll(async () => {
    lab = await timed(`${release}: start a 3-host lab`, () => startLab({ name: LAB, hosts: 3, release }));
    const cluster = labCluster(lab);
    key = newClusterKey();
    const ownKey = newClusterKey("me@laptop");
    await timed(`${release}: seed user content, repack MPI packages offline`, () =>
      Promise.all(
        MANAGED.map(async (h) => {
          conn[h] = connectionFor(lab, h);
          facets[h] = facetsOf(cluster, h, key).filter((f) => f.facet !== "firewall");
          // host2's ssh config is a link into a dotfiles checkout.
          seeded[h] = await seedUserContent(lab, h, ownKey.publicKey, { dotfiles: h === "host2" });
          // mpi4py out, so that the system python facet has something to install (apt, from a local repository).
          await makePackagesInstallableOffline(lab, h, MPI_PACKAGES, ["python3-mpi4py"]);
          before[h] = await snapshot(lab, h);
        }),
      ),
    );
  });

  afterAll(async () => {
    await closeAll();
    await stopLab(LAB);
  });

  test("the facets under test are every facet but the firewall, in apply order", () => {
    expect(facets.host1.map((f) => f.facet)).toEqual(["python", "sshConfig", "clusterTrust", "mcaParams", "hostfile"]);
  });

  test("on a fresh host, probe finds every desired key of every facet different, and plain tools agree", async () => {
    for (const h of MANAGED) {
      for (const f of facets[h]) {
        const { differences } = await probe(conn[h], f);
        expect([f.facet, differences.map((d) => d.key)]).toEqual([f.facet, Object.keys(f.desired).sort()]);
      }
    }
    // Nothing lets host1 reach host2 by its alias yet, and Open MPI uses its default ports.
    const ssh = await sshExec(lab, "host1", "ssh -o BatchMode=yes -o ConnectTimeout=3 host2 hostname");
    expect(ssh.code).not.toBe(0);
    const ompi = await sshExec(lab, "host1", "ompi_info --param btl tcp --level 9");
    expect(ompi.stdout).toMatch(/"btl_tcp_port_min_v4" \(current value: "1024", data source: default/);
    expect(await rootOk(lab, "host1", "dpkg-query -W -f '${Status}' python3-mpi4py 2>&1 || true")).not.toMatch(/install ok installed/);
  });

  test("apply converges each facet in order; probe then finds no difference", async () => {
    await timed(`${release}: first apply of 5 facets on 2 hosts`, () =>
      Promise.all(
        MANAGED.map(async (h) => {
          for (const f of facets[h]) {
            const applied = await apply(h, f);
            expect([f.facet, applied.stderr]).not.toEqual([f.facet, expect.stringMatching(/no change/)]);
            const { differences } = await probe(conn[h], f);
            expect([f.facet, describeDifferences(differences)]).toEqual([f.facet, ""]);
          }
        }),
      ),
    );
  });

  test("plain tools see what apply wrote: ssh -G, file bytes, dpkg, ompi_info, and ssh between hosts with no prompt", async () => {
    const host2 = labHost(lab, "host2");
    const g = (await sshExec(lab, "host1", "ssh -G host2")).stdout.split("\n");
    expect(g).toEqual(
      expect.arrayContaining([
        `hostname ${host2.address}`,
        "port 2400",
        "user mpi",
        "identityfile ~/.ssh/mpi-hosts_ed25519",
        "identitiesonly yes",
        "userknownhostsfile /home/mpi/.ssh/mpi-hosts_known_hosts",
        "stricthostkeychecking true",
        "batchmode yes",
      ]),
    );
    // The user's own entry still resolves as before.
    expect((await sshExec(lab, "host1", "ssh -G myserver")).stdout.split("\n")).toEqual(
      expect.arrayContaining(["hostname myserver.example.org", "user me", "port 22"]),
    );

    for (const h of MANAGED) {
      const d = (name: string) => facet(h, name).desired as Record<string, string>;
      // Shared files: our block on top, the user's bytes after it, untouched (no final newline added).
      expect(await readHostFile(lab, h, home(".ssh/config"))).toBe(d("sshConfig").block + seeded[h].sshConfig);
      expect(await readHostFile(lab, h, home(".ssh/authorized_keys"))).toBe(d("clusterTrust").authorizedKeys + seeded[h].authorizedKeys);
      expect(await readHostFile(lab, h, home(".openmpi/mca-params.conf"))).toBe(d("mcaParams").openmpi + seeded[h].mcaParams);
      expect(await readHostFile(lab, h, home(".bashrc"))).toBe(seeded[h].bashrc);
      // Files of our own.
      expect(await readHostFile(lab, h, home(".prte/mca-params.conf"))).toBe(d("mcaParams").prte);
      expect(await readHostFile(lab, h, home(".mpi-hosts/hostfile"))).toBe(d("hostfile").hostfile);
      expect(await readHostFile(lab, h, home(".ssh/mpi-hosts_known_hosts"))).toBe(d("clusterTrust").knownHosts);
      expect(await readHostFile(lab, h, home(".ssh/mpi-hosts_ed25519.pub"))).toBe(`${key.publicKey}\n`);
      expect((await readHostFile(lab, h, home(".ssh/mpi-hosts_ed25519")))?.trim()).toBe(key.privateKey.trim());
      expect(await sshExec(lab, h, "ssh-keygen -y -f ~/.ssh/mpi-hosts_ed25519")).toMatchObject({ code: 0, stdout: `${key.publicKey}\n` });
      expect(
        await rootOk(lab, h, "stat -L -c '%a %U' /home/mpi/.ssh/mpi-hosts_ed25519 /home/mpi/.ssh/config /home/mpi/.ssh/authorized_keys"),
      ).toBe("600 mpi\n600 mpi\n600 mpi\n");
      expect(await rootOk(lab, h, "dpkg-query -W -f '${Package} ${Status}\\n' python3-mpi4py openmpi-bin")).toBe(
        "openmpi-bin install ok installed\npython3-mpi4py install ok installed\n",
      );
    }

    // A linked ssh config stays a link: the block lands in the user's dotfiles checkout.
    expect(await rootOk(lab, "host2", "readlink /home/mpi/.ssh/config")).toBe("../dotfiles/ssh_config\n");
    expect(await readHostFile(lab, "host2", home("dotfiles/ssh_config"))).toBe(
      (facet("host2", "sshConfig").desired.block as string) + seeded.host2.sshConfig,
    );

    // Launch needs every host to reach every host by alias, non-interactively, with pinned host keys.
    for (const [from, to] of [
      ["host1", "host2"],
      ["host2", "host1"],
      ["host1", "host1"],
    ]) {
      const r = await sshExec(lab, from, `ssh -o BatchMode=yes ${to} hostname </dev/null`);
      expect({ from, to, ...r }).toEqual({ from, to, code: 0, stdout: `${to}\n`, stderr: "" });
    }

    const network = lab.network.replace(/\//g, "\\/").replace(/\./g, "\\.");
    const fromFile = "data source: file \\(/home/mpi/\\.openmpi/mca-params\\.conf:\\d+\\)";
    const btl = (await sshExec(lab, "host2", "ompi_info --param btl tcp --level 9")).stdout;
    expect(btl).toMatch(new RegExp(`"btl_tcp_port_min_v4" \\(current value: "50000", ${fromFile}`));
    expect(btl).toMatch(new RegExp(`"btl_tcp_port_range_v4" \\(current value: "100", ${fromFile}`));
    expect(btl).toMatch(new RegExp(`"btl_tcp_if_include" \\(current value: "${network}", ${fromFile}`));
    if (release === "bookworm") {
      // Open MPI 4.1's runtime (ORTE) reads the same file: the network, and no port range (oobPorts: ephemeral).
      const oob = (await sshExec(lab, "host2", "ompi_info --param oob tcp --level 9")).stdout;
      expect(oob).toMatch(new RegExp(`"oob_tcp_if_include" \\(current value: "${network}", ${fromFile}`));
      expect(oob).toMatch(/"oob_tcp_dynamic_ipv4_ports" \(current value: "", data source: default/);
    } else {
      // Open MPI 5's runtime (PRRTE 3) reads ~/.prte/mca-params.conf; prte_info reports file values as "environment".
      const prte = (await sshExec(lab, "host2", "prte_info --all")).stdout.replace(/\s+/g, " ");
      expect(prte).toMatch(new RegExp(`"prte_if_include" \\(current value: "${network}"`));
      expect(prte).not.toMatch(/"oob_tcp_dynamic_ipv4_ports" \(current value: "[0-9]/);
      const without = (await sshExec(lab, "host2", "mv ~/.prte ~/.prte-away; prte_info --all; mv ~/.prte-away ~/.prte")).stdout.replace(
        /\s+/g,
        " ",
      );
      expect(without).not.toMatch(new RegExp(`"prte_if_include" \\(current value: "${network}"`));
    }
  });

  test("a second apply changes nothing: every facet says 'no change', bytes, inodes and mtimes stay", async () => {
    for (const h of MANAGED) {
      const first = await snapshot(lab, h, { times: true });
      for (const f of facets[h]) {
        const again = await apply(h, f);
        expect([f.facet, again.stderr]).toEqual([f.facet, expect.stringMatching(/no change/)]);
      }
      expect(await snapshot(lab, h, { times: true })).toBe(first);
    }
  });

  test("hand edits on a host show up as exactly the edited key and line; apply repairs them", async () => {
    const h = "host2";
    const address = labHost(lab, "host2").address;
    const elsewhere = address.replace(/\.\d+$/, ".99");
    const other = newClusterKey("someone else");
    const cases: Array<{ facet: string; edit: string; input?: string; key: string; shows: string[] }> = [
      {
        facet: "sshConfig",
        edit: `sed -i --follow-symlinks 's/^  HostName ${address}$/  HostName ${elsewhere}/' /home/mpi/.ssh/config`,
        key: "block",
        shows: [`  -   HostName ${elsewhere}`, `  +   HostName ${address}`],
      },
      { facet: "hostfile", edit: "rm /home/mpi/.mpi-hosts/hostfile", key: "hostfile", shows: ["hostfile: missing (expected"] },
      {
        facet: "mcaParams",
        edit: "sed -i 's/^btl_tcp_port_min_v4 = 50000$/btl_tcp_port_min_v4 = 40000/' /home/mpi/.openmpi/mca-params.conf",
        key: "openmpi",
        shows: ["  - btl_tcp_port_min_v4 = 40000", "  + btl_tcp_port_min_v4 = 50000"],
      },
      {
        facet: "clusterTrust",
        edit: "cat >/home/mpi/.ssh/mpi-hosts_ed25519",
        input: other.privateKey,
        key: "identity",
        shows: [
          `identity: ${JSON.stringify(other.publicKey.split(" ").slice(0, 2).join(" "))} (expected ${JSON.stringify(key.publicKey.split(" ").slice(0, 2).join(" "))})`,
        ],
      },
      {
        facet: "python",
        edit: "dpkg -r python3-mpi4py >/dev/null",
        key: "packages",
        shows: ["  - python3-mpi4py missing", "  + python3-mpi4py installed"],
      },
    ];
    for (const c of cases) {
      await rootOk(lab, h, c.edit, c.input);
      const f = facet(h, c.facet);
      const { differences } = await probe(conn[h], f);
      expect([c.facet, differences.map((d) => d.key)]).toEqual([c.facet, [c.key]]);
      const described = describeDifferences(differences);
      for (const line of c.shows) expect(described).toContain(line);
      // The other facets did not notice.
      for (const o of facets[h].filter((x) => x.facet !== c.facet)) {
        expect([o.facet, (await probe(conn[h], o)).differences]).toEqual([o.facet, []]);
      }
      await apply(h, f);
      expect([c.facet, (await probe(conn[h], f)).differences]).toEqual([c.facet, []]);
    }
    // Repaired, with the user's bytes still after our blocks.
    expect(await readHostFile(lab, h, home(".ssh/config"))).toBe((facet(h, "sshConfig").desired.block as string) + seeded[h].sshConfig);
    expect((await sshExec(lab, "host1", "ssh host2 hostname </dev/null")).stdout).toBe("host2\n");
  });

  test("remove puts every host back to its original bytes, the user's content included", async () => {
    await timed(`${release}: remove 5 facets on 2 hosts`, () =>
      Promise.all(
        MANAGED.map(async (h) => {
          for (const f of [...facets[h]].reverse()) await remove(h, f);
        }),
      ),
    );
    for (const h of MANAGED) {
      expect(await snapshot(lab, h)).toBe(before[h]);
      expect(await readHostFile(lab, h, home(".ssh/config"))).toBe(seeded[h].sshConfig);
      expect(await readHostFile(lab, h, home(".ssh/authorized_keys"))).toBe(seeded[h].authorizedKeys);
      expect(await readHostFile(lab, h, home(".openmpi/mca-params.conf"))).toBe(seeded[h].mcaParams);
      expect(await readHostFile(lab, h, home(".bashrc"))).toBe(seeded[h].bashrc);
      for (const f of facets[h]) {
        expect([f.facet, (await probe(conn[h], f)).differences.map((d) => d.key)]).toEqual([f.facet, Object.keys(f.desired).sort()]);
      }
    }
  });

  describe("the conda kind, against the conda TEST DOUBLE on host3", () => {
    let python: RenderedFacet;
    let prefixLink: RenderedFacet;
    let c: Connection;
    let fresh: string;
    let bashrc: string;
    const INSTALL = `conda install -y -q -p ${PREFIX} -c conda-forge --override-channels mpi4py=4.0.* openmpi=5.0.*`;
    /** The calls that change the prefix (apply and remove also read `conda list --revisions`). */
    const condaChanges = async () => (await condaCalls(lab, CONDA_HOST)).filter((l) => !l.startsWith("conda list "));
    /** conda appends to conda-meta/history on every change, remove included, as real conda does: the rest must match. */
    const prefixSnapshot = async () =>
      (await snapshot(lab, CONDA_HOST))
        .split("\n")
        .filter((l) => !l.startsWith(`${PREFIX}/conda-meta/history `))
        .join("\n");

    beforeAll(async () => {
      const cluster = labCluster(lab, { python: { kind: "conda", prefix: PREFIX, mpi4py: "4.0.*", openmpi: "5.0.*" } });
      python = facetOf(cluster, CONDA_HOST, key, "python");
      prefixLink = facetOf(cluster, CONDA_HOST, key, "prefixLink");
      c = connectionFor(lab, CONDA_HOST);
      await installCondaDouble(lab, CONDA_HOST, PREFIX, { placeholder: "no" });
      bashrc = (await readHostFile(lab, CONDA_HOST, home(".bashrc")))!;
      fresh = await prefixSnapshot();
    });

    const run = (f: RenderedFacet, kind: "apply" | "remove") => runFacet(c, f, kind);

    test("the double is a fresh-looking base (conda, python, no mpi4py) and ~/.bashrc is Debian's, with its non-interactive guard", async () => {
      expect(bashrc).toContain(DEBIAN_NONINTERACTIVE_GUARD);
      expect(await rootOk(lab, CONDA_HOST, `ls ${PREFIX}/bin`)).toBe("conda\npython\n");
      const { differences } = await probe(c, python);
      expect(differences.map((d) => d.key)).toEqual(["bashrc", "mpi4py", "openmpi", "zshenv"]);
      expect(differences.find((d) => d.key === "mpi4py")?.actual).toBe("missing");
    });

    test("apply runs exactly one pinned conda install, puts PATH above the guard, and converges", async () => {
      const applied = await run(python, "apply");
      expect(applied.stderr).toMatch(/mpi4py 4\.0\.3 and Open MPI 5\.0\.7 in \/opt\/anaconda/);
      expect(await condaChanges()).toEqual([INSTALL]);
      expect(describeDifferences((await probe(c, python)).differences)).toBe("");

      const rc = (await readHostFile(lab, CONDA_HOST, home(".bashrc")))!;
      expect(rc).toBe((python.desired.bashrc as string) + bashrc);
      expect(rc.indexOf(`PATH=${PREFIX}/bin:$PATH`)).toBeLessThan(rc.indexOf(DEBIAN_NONINTERACTIVE_GUARD));
      // zsh reads ~/.zshenv instead; there was none, so it holds our block alone.
      expect(await readHostFile(lab, CONDA_HOST, home(".zshenv"))).toBe(python.desired.zshenv);
      // A non-interactive ssh shell (how mpirun starts remote daemons) finds the prefix's python and mpirun.
      const which = await sshExec(lab, CONDA_HOST, "command -v python mpirun; mpirun --version | head -n 1");
      expect(which.stdout).toBe(`${PREFIX}/bin/python\n${PREFIX}/bin/mpirun\nmpirun (Open MPI) 5.0.7\n`);
    });

    test("a second apply does not call conda and says no change", async () => {
      const again = await run(python, "apply");
      expect(again.stderr).toMatch(/python: already in sync, no change \(mpi4py 4\.0\.3, Open MPI 5\.0\.7\)/);
      expect(await condaChanges()).toEqual([INSTALL]);
    });

    test("remove takes the prefix back to the revision before apply (conda's history) and leaves the host as it was", async () => {
      await run(python, "remove");
      expect(await condaChanges()).toEqual([INSTALL, `conda install -y -q -p ${PREFIX} -c conda-forge --override-channels --revision 0`]);
      expect(await prefixSnapshot()).toBe(fresh);
    });

    test("when Open MPI was in the prefix before, remove takes away only mpi4py (back to the revision that had Open MPI)", async () => {
      await rootOk(
        lab,
        CONDA_HOST,
        `runuser -u mpi -- ${PREFIX}/bin/conda install -y -p ${PREFIX} -c conda-forge openmpi=5.0.* >/dev/null; : >/tmp/conda-double.log`,
      );
      const withOpenMpi = await prefixSnapshot();
      const { differences } = await probe(c, python);
      expect(differences.map((d) => d.key)).toEqual(["bashrc", "mpi4py", "zshenv"]);
      await run(python, "apply");
      expect(describeDifferences((await probe(c, python)).differences)).toBe("");
      await run(python, "remove");
      // The history so far: 0 python (the base), 1 apply, 2 remove, 3 the user's Open MPI, 4 apply: back to 3.
      expect(await condaChanges()).toEqual([INSTALL, `conda install -y -q -p ${PREFIX} -c conda-forge --override-channels --revision 3`]);
      expect(await prefixSnapshot()).toBe(withOpenMpi);
      // Back to a fresh prefix for the prefix link tests.
      await rootOk(
        lab,
        CONDA_HOST,
        `runuser -u mpi -- ${PREFIX}/bin/conda remove -y -p ${PREFIX} openmpi >/dev/null; : >/tmp/conda-double.log`,
      );
      expect(await prefixSnapshot()).toBe(fresh);
    });

    describe("the prefix link (privileged)", () => {
      const link = PLACEHOLDER_PREFIX;
      const linkState = async () =>
        (
          await rootOk(
            lab,
            CONDA_HOST,
            `if [ -L ${link} ]; then echo "link -> $(readlink ${link})"; elif [ -e ${link} ]; then echo real; else echo absent; fi`,
          )
        ).trim();

      /** A conda install whose Open MPI build does (or does not) carry the placeholder prefix, in its compiled files only. */
      async function condaBuild(placeholder: "yes" | "no") {
        await setCondaDouble(lab, CONDA_HOST, { placeholder });
        await run(python, "apply");
        const grep = await rootOk(
          lab,
          CONDA_HOST,
          `grep -rl anaconda1anaconda2anaconda3 ${PREFIX}/bin ${PREFIX}/lib ${PREFIX}/share || true`,
        );
        expect(grep).toBe(placeholder === "yes" ? `${PREFIX}/lib/libopen-pal.so.80\n` : "");
      }
      afterEach(async () => {
        await run(python, "remove");
        await rootOk(lab, CONDA_HOST, `rm -rf ${link}`);
      });

      test("a build that refers to the placeholder gets the link to PREFIX; remove deletes it", async () => {
        await condaBuild("yes");
        const { differences, state } = await probe(c, prefixLink);
        expect(differences.map((d) => d.key)).toEqual(["link"]);
        expect(state).toMatchObject({ needed: true, link: `absent, but the Open MPI build in ${PREFIX} refers to ${link}` });
        await run(prefixLink, "apply");
        expect(await linkState()).toBe(`link -> ${PREFIX}`);
        expect(await rootOk(lab, CONDA_HOST, `stat -c %U ${link}`)).toBe("root\n");
        expect((await probe(c, prefixLink)).differences).toEqual([]);
        expect((await run(prefixLink, "apply")).stderr).toMatch(/no change/);
        await run(prefixLink, "remove");
        expect(await linkState()).toBe("absent");
      });

      test("a build without the placeholder (auto) gets no link, and probe is in sync", async () => {
        await condaBuild("no");
        expect((await probe(c, prefixLink)).state).toMatchObject({ needed: false });
        expect((await probe(c, prefixLink)).differences).toEqual([]);
        expect((await run(prefixLink, "apply")).stderr).toMatch(/no change/);
        expect(await linkState()).toBe("absent");
      });

      test("a real directory at the link path is never replaced: apply fails and says why", async () => {
        await rootOk(lab, CONDA_HOST, `mkdir ${link} && echo mine > ${link}/keep.txt`);
        await condaBuild("yes");
        const { differences } = await probe(c, prefixLink);
        expect(describeDifferences(differences)).toMatch(
          /a real directory or file at \/opt\/anaconda1anaconda2anaconda3 \(never replaced: move it away/,
        );
        await expect(run(prefixLink, "apply")).rejects.toThrow(
          /prefix link: a real directory or file at \/opt\/anaconda1anaconda2anaconda3 \(never replaced: move it away to let mpi-hosts link it\)/,
        );
        await run(prefixLink, "remove");
        expect(await linkState()).toBe("real");
        expect(await rootOk(lab, CONDA_HOST, `cat ${link}/keep.txt`)).toBe("mine\n");
      });

      test("where the build does not need it (auto), a real directory at the link path is nobody's business: in sync, kept", async () => {
        await rootOk(lab, CONDA_HOST, `mkdir ${link} && echo mine > ${link}/keep.txt`);
        await condaBuild("no");
        expect((await probe(c, prefixLink)).differences).toEqual([]);
        expect((await run(prefixLink, "apply")).stderr).toMatch(/no change/);
        await run(prefixLink, "remove");
        expect(await rootOk(lab, CONDA_HOST, `cat ${link}/keep.txt`)).toBe("mine\n");
      });

      test("remove deletes only our link: a link of the user's own pointing elsewhere stays", async () => {
        await condaBuild("yes");
        await rootOk(lab, CONDA_HOST, `mkdir -p /srv/other-conda && ln -s /srv/other-conda ${link}`);
        const { differences } = await probe(c, prefixLink);
        expect(describeDifferences(differences)).toBe(
          `link: "points to /srv/other-conda" (expected ${JSON.stringify(prefixLink.desired.link)})`,
        );
        await run(prefixLink, "remove");
        expect(await linkState()).toBe("link -> /srv/other-conda");
      });
    });

    test("a user whose login shell is zsh finds the prefix first too (non-interactive zsh reads only ~/.zshenv)", async () => {
      await rootOk(lab, CONDA_HOST, "chsh -s /usr/bin/zsh mpi");
      try {
        await run(python, "apply");
        expect(describeDifferences((await probe(c, python)).differences)).toBe("");
        const which = await sshExec(lab, CONDA_HOST, "echo $0; command -v python mpirun");
        expect(which.stdout).toBe(`zsh\n${PREFIX}/bin/python\n${PREFIX}/bin/mpirun\n`);
        await run(python, "remove");
      } finally {
        await rootOk(lab, CONDA_HOST, "chsh -s /bin/bash mpi");
      }
    });

    test("after all that, host3 is as it was before the first apply (conda's history aside)", async () => {
      expect(await prefixSnapshot()).toBe(fresh);
      expect(await readHostFile(lab, CONDA_HOST, home(".bashrc"))).toBe(bashrc);
    });
  });
});

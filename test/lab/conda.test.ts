/**
 * The conda kind of the python facet and the prefix link, against how conda and Anaconda's Open MPI builds really
 * behave (issue 18, items 1-6). Conda cannot be downloaded here, so the scripts run on a real lab host, as its user
 * mpi (root for the privileged prefix link), handed over on stdin the way sudo/ssh hand them to sh, against the conda
 * TEST DOUBLE (test/doubles/conda), whose behaviour cites the conda sources it was checked against. (The SSH path
 * itself is covered by facets.test.ts; here it would only add time.)
 *   npx jest --selectProjects lab --runTestsByPath test/lab/conda.test.ts --runInBand
 */
import { decodeProbe, describeDifferences, diffStates, Difference } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { PLACEHOLDER_PREFIX } from "../../components/facets/prefixLink";
import { Lab, rootExec, startLab, stopLab } from "../../lab/lab";
import { rootOk } from "../../lab/harness/labHelpers";
import { ClusterKeyPair, facetOf, labCluster, newClusterKey } from "../../lab/harness/labCluster";
import { condaCalls, installCondaDouble, MPI_HOME } from "./support/hostState";

jest.setTimeout(300000);

const LAB = "cm-conda";
const HOST = "host1";
const PREFIX = "/opt/anaconda";
const ENV_PREFIX = "/opt/miniforge/envs/mpi";

describe("conda and Anaconda's Open MPI builds, as the real tools behave (issue 18)", () => {
  let lab: Lab;
  let key: ClusterKeyPair;

  beforeAll(async () => {
    lab = await startLab({ name: LAB, hosts: 1, release: "trixie", firewall: "none" });
    key = newClusterKey();
  });
  afterAll(() => stopLab(LAB));

  /** One of the facet's scripts on the host: as root when the step is privileged, else as user mpi in its home. */
  function exec(f: RenderedFacet, kind: "probe" | "apply" | "remove") {
    const asRoot = kind === "probe" ? f.probePrivileged : f.privileged;
    const shell = asRoot ? "sh -s" : `runuser -u mpi -- env -i HOME=${MPI_HOME} USER=mpi LOGNAME=mpi PATH=/usr/bin:/bin sh -s`;
    return rootExec(lab, HOST, `cd / && ${shell}`, { input: f.scripts[kind] });
  }
  async function runFacet(f: RenderedFacet, kind: "apply" | "remove") {
    const r = await exec(f, kind);
    if (r.code !== 0) throw new Error(`${f.facet} ${kind} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r;
  }
  async function probe(f: RenderedFacet): Promise<{ differences: Difference[] }> {
    const r = await exec(f, "probe");
    if (r.code !== 0) throw new Error(`${f.facet} probe exited ${r.code}:\n${r.stderr}`);
    return { differences: diffStates(f.desired as never, decodeProbe(r.stdout) as never) as Difference[] };
  }

  function facets(python: Record<string, unknown>, prefix = PREFIX) {
    const cluster = labCluster(lab, { python: { kind: "conda", prefix, ...python } });
    return { python: facetOf(cluster, HOST, key, "python"), prefixLink: facetOf(cluster, HOST, key, "prefixLink") };
  }
  /** A fresh conda base at `prefix` (double), with python installed the way conda create leaves it (revision 0). */
  async function freshBase(settings: Record<string, string> = {}, prefix = PREFIX) {
    await rootOk(lab, HOST, `rm -rf ${PREFIX} /opt/miniforge ${PLACEHOLDER_PREFIX} ${MPI_HOME}/.mpi-hosts ${MPI_HOME}/.local`);
    await installCondaDouble(lab, HOST, prefix, settings);
  }
  async function fails(f: RenderedFacet, kind: "apply" | "remove"): Promise<string> {
    const r = await exec(f, kind);
    expect(r.code).not.toBe(0);
    return r.stderr;
  }

  test("item 1: a build that keeps the placeholder only in compiled files (text files rewritten by conda) gets the link", async () => {
    await freshBase({ placeholder: "yes" });
    const { python, prefixLink } = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" });
    await runFacet(python, "apply");
    // The independent view: no text file carries the placeholder (what conda rewrites), a compiled one does, and
    // the build's own ompi_info names it as its prefix.
    expect(
      await rootOk(lab, HOST, `grep -rlI anaconda1anaconda2anaconda3 ${PREFIX}/bin ${PREFIX}/etc ${PREFIX}/share 2>/dev/null || echo none`),
    ).toBe("none\n");
    expect(await rootOk(lab, HOST, `grep -l -F ${PLACEHOLDER_PREFIX} ${PREFIX}/lib/*`)).toBe(`${PREFIX}/lib/libopen-pal.so.80\n`);
    expect(await rootOk(lab, HOST, `${PREFIX}/bin/ompi_info --parsable --path prefix`)).toBe(`path:prefix:${PLACEHOLDER_PREFIX}\n`);

    const before = await probe(prefixLink);
    expect(describeDifferences(before.differences)).toContain(
      `absent, but the Open MPI build in ${PREFIX} refers to ${PLACEHOLDER_PREFIX}`,
    );
    await runFacet(prefixLink, "apply");
    expect(await rootOk(lab, HOST, `readlink ${PLACEHOLDER_PREFIX}`)).toBe(`${PREFIX}\n`);
    expect((await probe(prefixLink)).differences).toEqual([]);
    await runFacet(prefixLink, "remove");
    await runFacet(python, "remove");
  });

  test("item 1: a build without the placeholder anywhere (conda rewrote the binaries too) gets no link", async () => {
    await freshBase({ placeholder: "no" });
    const { python, prefixLink } = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" });
    await runFacet(python, "apply");
    expect((await probe(prefixLink)).differences).toEqual([]);
    await runFacet(prefixLink, "apply");
    expect(await rootOk(lab, HOST, `[ -e ${PLACEHOLDER_PREFIX} ] && echo present || echo absent`)).toBe("absent\n");
    await runFacet(python, "remove");
  });

  test("item 2: pins the schema allows match as conda matches them: openmpi 5.0 and mpi4py 4.0 converge, drift clears", async () => {
    await freshBase({ openmpi_versions: "4.1.6 5.0.7 5.0.10", mpi4py_versions: "3.1.6 4.0.3" });
    const { python } = facets({ mpi4py: "4.0", openmpi: "5.0" });
    const applied = await runFacet(python, "apply");
    expect(applied.stderr).toMatch(/mpi4py 4\.0\.3 and Open MPI 5\.0\.10 in \/opt\/anaconda/);
    expect((await probe(python)).differences).toEqual([]);
    expect((await runFacet(python, "apply")).stderr).toContain("python: already in sync, no change");
    // 5.0.1 is not a prefix of 5.0.10 to conda (numeric components): the installed build does not satisfy it.
    const narrower = facets({ mpi4py: "4.0", openmpi: "5.0.1" }).python;
    expect(describeDifferences((await probe(narrower)).differences)).toBe('openmpi: "found-5.0.10" (expected "5.0.1")');
    await runFacet(python, "remove");
  });

  test("item 3: with Anaconda's terms-of-service plugin, apply and remove pass; remove goes back to the revision before apply", async () => {
    await freshBase({ tos: "pending" });
    const { python } = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" });
    await runFacet(python, "apply");
    expect(await condaCalls(lab, HOST)).toEqual([
      "conda list -p /opt/anaconda --revisions",
      "conda install -y -q -p /opt/anaconda -c conda-forge --override-channels mpi4py=4.0.* openmpi=5.0.*",
      "conda list -p /opt/anaconda --revisions",
    ]);
    const metaAfterApply = await rootOk(lab, HOST, `ls ${PREFIX}/conda-meta`);
    expect(metaAfterApply).toBe("history\nmpi4py-4.0.3-h0_0.json\nopenmpi-5.0.7-h0_0.json\npython-3.12.8-h0_0.json\n");
    await rootOk(lab, HOST, ": >/tmp/conda-double.log");
    const removed = await runFacet(python, "remove");
    expect(removed.stderr).toContain("conda install --revision 0 in /opt/anaconda");
    expect((await condaCalls(lab, HOST)).filter((l) => !l.includes("--revisions"))).toEqual([
      "conda install -y -q -p /opt/anaconda -c conda-forge --override-channels --revision 0",
    ]);
    expect(await rootOk(lab, HOST, `ls ${PREFIX}/conda-meta; ls -A ${MPI_HOME}/.mpi-hosts 2>&1 | head -n 1`)).toBe(
      `history\npython-3.12.8-h0_0.json\nls: cannot access '${MPI_HOME}/.mpi-hosts': No such file or directory\n`,
    );
  });

  test("item 3: a prefix the user changed after apply keeps its packages, and remove says exactly what it leaves", async () => {
    await freshBase({ tos: "pending", mpi4py_versions: "3.1.6 4.0.3" });
    const { python } = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" });
    await runFacet(python, "apply");
    // The user upgrades something by hand afterwards (revision 2).
    await rootOk(
      lab,
      HOST,
      `runuser -u mpi -- ${PREFIX}/bin/conda install -y -p ${PREFIX} --override-channels -c conda-forge openmpi=4.1 >/dev/null`,
    );
    const removed = await runFacet(python, "remove");
    expect(removed.stderr).toContain(
      "python: /opt/anaconda changed after mpi-hosts installed into it (conda history at revision 2, mpi-hosts left it at revision 1): mpi4py and Open MPI stay",
    );
    expect(await rootOk(lab, HOST, `ls ${PREFIX}/conda-meta`)).toBe(
      "history\nmpi4py-4.0.3-h0_0.json\nopenmpi-4.1.6-h0_0.json\npython-3.12.8-h0_0.json\n",
    );
  });

  test("item 4: an mpi4py in ~/.local (pip install --user, another MPI) is not 'in sync'; apply says where it comes from", async () => {
    await freshBase();
    const { python } = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" });
    await runFacet(python, "apply");
    expect((await probe(python)).differences).toEqual([]);
    const site = `${MPI_HOME}/.local/lib/python3.12/site-packages/mpi4py`;
    await rootOk(
      lab,
      HOST,
      `install -d -o mpi -g mpi ${site} && printf "__version__ = '4.0.1'\\n" >${site}/__init__.py && echo 'MPICH Version: 4.2.0' >${site}/.double-mpi-lib && chown -R mpi:mpi ${MPI_HOME}/.local`,
    );
    expect(describeDifferences((await probe(python)).differences)).toBe(
      `mpi4py: "found-4.0.1 from ${site}/__init__.py, outside ${PREFIX}" (expected "4.0.*")`,
    );
    const stderr = await fails(python, "apply");
    expect(stderr).toContain(
      `mpi-hosts: python: ${PREFIX}/bin/python imports mpi4py 4.0.1 from ${site}/__init__.py (MPI library: MPICH Version: 4.2.0), not the prefix's own`,
    );
    await rootOk(lab, HOST, `rm -rf ${MPI_HOME}/.local`);
    expect((await probe(python)).differences).toEqual([]);
    await runFacet(python, "remove");
  });

  test("item 5: conda's own files stay readable by others (not umask 077), and an environment finds its base's conda", async () => {
    await freshBase();
    const { python } = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" });
    await runFacet(python, "apply");
    expect(await rootOk(lab, HOST, `stat -c '%a %n' ${PREFIX}/conda-meta/mpi4py-4.0.3-h0_0.json ${PREFIX}/bin/mpirun ${PREFIX}/lib`)).toBe(
      `644 ${PREFIX}/conda-meta/mpi4py-4.0.3-h0_0.json\n755 ${PREFIX}/bin/mpirun\n755 ${PREFIX}/lib\n`,
    );
    await runFacet(python, "remove");

    // An environment under a base install: conda lives in BASE/bin, not in the environment.
    await freshBase({}, "/opt/miniforge");
    await rootOk(
      lab,
      HOST,
      `install -d -o mpi -g mpi -m 755 ${ENV_PREFIX} ${ENV_PREFIX}/conda-meta && runuser -u mpi -- /opt/miniforge/bin/conda install -y -p ${ENV_PREFIX} --override-channels -c conda-forge python=3.12 >/dev/null`,
    );
    const env = facets({ mpi4py: "4.0.*", openmpi: "5.0.*" }, ENV_PREFIX).python;
    await runFacet(env, "apply");
    expect((await probe(env)).differences).toEqual([]);
    await runFacet(env, "remove");
    // Without a base conda: the message names the environment and where conda was looked for.
    await rootOk(lab, HOST, `rm /opt/miniforge/bin/conda`);
    expect(await fails(env, "apply")).toContain(
      `no conda for the environment ${ENV_PREFIX}: none in /opt/miniforge/bin or /opt/miniforge/condabin (its base install) nor on PATH`,
    );
  });

  test("item 6: the double exits 1 on conda errors, like conda (a pin nothing satisfies)", async () => {
    await freshBase();
    const { python } = facets({ mpi4py: "4.0.*", openmpi: "5.1" });
    const stderr = await fails(python, "apply");
    expect(stderr).toContain("PackagesNotFoundError: The following packages are not available from current channels:");
    expect(stderr).toContain("mpi-hosts: conda install failed in /opt/anaconda (see the lines above)");
    expect(await rootOk(lab, HOST, `runuser -u mpi -- ${PREFIX}/bin/conda remove -y -p ${PREFIX} mpi4py >/dev/null 2>&1; echo $?`)).toBe(
      "1\n",
    );
  });
});

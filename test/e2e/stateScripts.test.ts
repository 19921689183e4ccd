/**
 * Issue 15, item 3 ("the state is a way to root") on the real engine and a 2-host trixie lab (xs1; host2's firewall is
 * nftables, host1's iptables, so both firewall probes and removes run through sudo). A state is data: whoever can
 * write the backend chooses what it holds. After a `pulumi up`, the test writes scripts into the exported state and
 * imports it, and then checks on the hosts, as root and with plain tools, that nothing of it ran:
 *   E5 a format-1 state (scripts in the state, as mpi-hosts wrote it before; synthesized from the plugin's own renders
 *      with the packer of that version, test/support/legacyState.ts, not written by that version's code, which would
 *      need a second checkout and PULUMI_HOME), every probe and remove of it writing a marker: refresh, preview
 *      --refresh, drift and destroy are refused with "run `pulumi up`" and run nothing; `pulumi up` migrates it in
 *      place (every Facet an update showing `format` only, no replacement), after which the state holds no script;
 *   E1 a format-2 state with the same scripts written in: refresh, preview --refresh and drift refuse it, naming
 *      `scripts`, and run nothing;
 *   E4 `pulumi up` repairs that state without running anything of it;
 *   E2 destroy of that state is refused and removes nothing; destroy of the clean state runs the installed removes.
 * Before format 2 (e0253c1), refresh ran the markers (host1's firewall probe as root: the marker holds 0).
 *
 *   export PULUMI_HOME=/tmp/ph-xs; bash scripts/build-engine.sh && bash scripts/install-plugin.sh
 *   . scripts/engine-env.sh && npx jest test/e2e/stateScripts.test.ts --selectProjects e2e --runInBand
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { definitionOf } from "../../components/facets/index";
import { renderFromInputs, RenderedFacet } from "../../components/facets/facet";
import type { DeclaredInputs } from "../../components/provider/facetRecord";
import { legacyFields } from "../support/legacyState";
import { drift, EngineLab, expectExit, explain, hostBaseline, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "xs1";
const HOSTS = ["host1", "host2"];
const FACET = "mpi-hosts:index:Facet";
const timings = new Timings("stateScripts.test.ts (2 trixie hosts) wall times");

jest.setTimeout(3_600_000);

interface Resource {
  type: string;
  urn: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}
interface Exported {
  deployment: { resources: Resource[] };
}

let e: EngineLab;
let dir: string;
const baseline: Record<string, string> = {};

async function exported(): Promise<Exported> {
  const out = await pulumi(e, ["stack", "export"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as Exported;
}

async function importState(state: Exported): Promise<void> {
  const file = path.join(dir, `state-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(state));
  expectExit(await pulumi(e, ["stack", "import", "--file", file]), 0);
}

const facetsOf = (state: Exported) => state.deployment.resources.filter((r) => r.type === FACET);

/** A marker command: its file in the host's own /tmp holds the uid it ran as. */
const marker = (facet: string, kind: string) => `id -u > /tmp/pwned-${facet}-${kind}\n`;

/**
 * The state with every Facet's probe and remove written in (inputs and outputs), in the format-1 shape: the scripts
 * the installed code renders, each replaced by a marker; `format`, `inputs`, `hostFacets` and `scriptsDigest` dropped
 * when `legacy`, kept otherwise (a format-2 record with scripts added).
 */
function withScripts(clean: Exported, legacy: boolean): Exported {
  const state = structuredClone(clean);
  for (const r of facetsOf(state)) {
    for (const props of [r.inputs!, r.outputs!]) {
      const facet = props.facet as string;
      const hostFacets = props.hostFacets as Record<string, DeclaredInputs>;
      const own = renderFromInputs(definitionOf(facet)!, props.inputs as DeclaredInputs);
      const host = Object.entries(hostFacets).map(([f, inputs]) => renderFromInputs(definitionOf(f)!, inputs));
      const tamper = (x: RenderedFacet): RenderedFacet => ({
        ...x,
        scripts: { probe: marker(x.facet, "probe"), apply: marker(x.facet, "apply"), remove: marker(x.facet, "remove") },
      });
      Object.assign(props, legacyFields(tamper(own), host.map(tamper)));
      if (legacy) for (const k of ["format", "inputs", "hostFacets", "scriptsDigest"]) delete props[k];
    }
  }
  return state;
}

/** What any marker script left on either host (empty: none ran). */
async function markers(): Promise<string> {
  const found = await Promise.all(HOSTS.map(async (h) => (await root(e.lab, h, "grep -H . /tmp/pwned-* 2>/dev/null || true")).trim()));
  return found.filter(Boolean).join("\n");
}

async function expectHostsUnchanged(): Promise<void> {
  expect(await markers()).toBe("");
  for (const h of HOSTS) expect(await hostBaseline(e.lab, h)).toBe(baseline[h]);
}

/** Fails unless the run failed, with `text` in its output. */
function expectRefused(run: { code: number; stdout: string; stderr: string }, text: string | RegExp): void {
  expectExit(run, "non-zero");
  const output = run.stdout + run.stderr;
  if (typeof text === "string" ? !output.includes(text) : !text.test(output)) throw new Error(`expected ${text} in ${explain(run)}`);
}

let clean: Exported;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "xs-e2e-state-"));
  e = await timings.time("lab up + stack init", () =>
    startEngineLab(NAME, HOSTS.length, "trixie", { firewall: ["iptables", "nftables-debian"] }),
  );
  expectExit(await timings.time("pulumi up (first)", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
  clean = await exported();
  for (const h of HOSTS) baseline[h] = await hostBaseline(e.lab, h);
});

afterAll(async () => {
  await stopEngineLab(e, NAME);
  fs.rmSync(dir, { recursive: true, force: true });
  timings.print();
});

it("records no script: every Facet holds format 2, its declared inputs, its host's probe inputs and a digest", () => {
  const facets = facetsOf(clean);
  expect(facets.length).toBeGreaterThanOrEqual(12);
  for (const f of facets) {
    for (const props of [f.inputs!, f.outputs!]) {
      expect(props).toMatchObject({ format: 2, scriptsDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      for (const gone of ["scripts", "hostProbes", "privileged", "timeoutSeconds"]) expect(props).not.toHaveProperty(gone);
    }
  }
  expect(JSON.stringify(clean)).not.toContain("brotli+base64:");
});

describe("E5 a format-1 state (scripts in the state, every probe and remove a marker)", () => {
  it("refresh, preview --refresh, drift and destroy refuse it and run nothing; one `pulumi up` migrates it in place", async () => {
    await importState(withScripts(clean, true));
    const refuse = "the state of its facets was written by mpi-hosts before state format 2";
    expectRefused(await timings.time("E5 refresh (refused)", () => pulumi(e, ["refresh", "--yes", "--skip-preview"])), refuse);
    expectRefused(await pulumi(e, ["preview", "--refresh"]), refuse);
    const drifted = await timings.time("E5 drift (refused)", () => drift(e));
    expectRefused(drifted, refuse);
    for (const h of HOSTS) expect((drifted.stdout + drifted.stderr).split(`${h}: ${refuse}`).length - 1).toBeGreaterThanOrEqual(1);
    expectRefused(await timings.time("E5 destroy (refused)", () => pulumi(e, ["destroy", "--yes", "--skip-preview"])), refuse);
    await expectHostsUnchanged();

    // The migration: every Facet an update showing `format` alone; nothing created, deleted or replaced.
    const preview = await timings.time("E5 preview --diff --json of the migration", () => pulumi(e, ["preview", "--diff", "--json"]));
    expectExit(preview, 0);
    // The JSON display names a step's Diff `diffs` diffReasons (pkg/display/json.go, apitype PreviewStep).
    const steps = (JSON.parse(preview.stdout) as { steps: Array<{ op: string; urn: string; diffReasons?: string[] }> }).steps;
    const facetSteps = steps.filter((s) => s.urn.includes(`${FACET}::`));
    expect(facetSteps.length).toBe(facetsOf(clean).length);
    for (const s of facetSteps)
      expect({ urn: s.urn, op: s.op, diffs: s.diffReasons }).toEqual({ urn: s.urn, op: "update", diffs: ["format"] });
    // Of mpi-hosts' own resources, but the verification job: it is replaced after any apply, by design (components/verify/job.ts).
    const ours = steps.filter((s) => {
      const type = (s.urn.split("::")[2] ?? "").split("$").pop()!;
      return type.startsWith("mpi-hosts:") && type !== "mpi-hosts:index:VerificationJob";
    });
    expect(ours.filter((s) => ["create", "delete", "replace", "create-replacement", "delete-replaced"].includes(s.op))).toEqual([]);

    expectExit(await timings.time("E5 pulumi up (migration)", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
    await expectHostsUnchanged();
    const migrated = await exported();
    for (const f of facetsOf(migrated))
      expect({ urn: f.urn, lastApply: f.outputs!.lastApply }).toEqual({ urn: f.urn, lastApply: expect.stringMatching(/no change/) });
    const text = JSON.stringify(migrated);
    for (const gone of ["brotli+base64:", '"scripts"', '"hostProbes"']) expect(text).not.toContain(gone);
    expectExit(
      await timings.time("E5 preview --refresh --expect-no-changes", () => pulumi(e, ["preview", "--refresh", "--expect-no-changes"])),
      0,
    );
  });
});

describe("E1, E4, E2 a format-2 state with scripts written in (every probe and remove a marker)", () => {
  it("E1 refresh, preview --refresh and drift refuse it, naming `scripts`, and run nothing", async () => {
    await importState(withScripts(await exported(), false));
    const refuse = /the state.s record holds `"/;
    expectRefused(await timings.time("E1 refresh (refused)", () => pulumi(e, ["refresh", "--yes", "--skip-preview"])), refuse);
    expectRefused(await pulumi(e, ["preview", "--refresh"]), refuse);
    expectRefused(await timings.time("E1 drift (refused)", () => drift(e)), refuse);
    await expectHostsUnchanged();
  });

  it("E4 `pulumi up` repairs it without running anything of it: the state is the clean one again", async () => {
    const before = await exported();
    expectExit(await timings.time("E4 pulumi up (repair)", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
    await expectHostsUnchanged();
    const after = await exported();
    const comparable = (s: Exported) =>
      facetsOf(s)
        .map((f) => {
          const { appliedAt: _a, lastApply: _l, secretEnv: _s, ...outputs } = f.outputs!;
          const { secretEnv: _si, ...inputs } = f.inputs!;
          return { urn: f.urn, inputs, outputs };
        })
        .sort((a, b) => a.urn.localeCompare(b.urn));
    expect(comparable(after)).toEqual(comparable(clean));
    expect(JSON.stringify(before)).toContain('"scripts"');
    expect(JSON.stringify(after)).not.toContain('"scripts"');
  });

  it("E2 destroy of a tampered state is refused and removes nothing; destroy of the clean state runs the installed removes", async () => {
    const current = await exported();
    await importState(withScripts(current, false));
    expectRefused(
      await timings.time("E2 destroy (refused)", () => pulumi(e, ["destroy", "--yes", "--skip-preview"])),
      /the state's record holds/,
    );
    await expectHostsUnchanged();

    await importState(current);
    expectExit(await timings.time("E2 destroy (clean state)", () => pulumi(e, ["destroy", "--yes", "--skip-preview"])), 0);
    expect(await markers()).toBe("");
    for (const h of HOSTS) {
      // Plain tools: no managed block in ~/.ssh/config, no hostfile, no rules of ours.
      const left = await root(
        e.lab,
        h,
        "grep -l 'mpi-hosts managed block' /home/mpi/.ssh/config 2>/dev/null; ls /home/mpi/.mpi-hosts/hostfile 2>/dev/null; nft list tables 2>/dev/null | grep mpi_hosts; iptables-save 2>/dev/null | grep -i mpi; true",
      );
      expect({ host: h, left: left.trim() }).toEqual({ host: h, left: "" });
    }
  });
});

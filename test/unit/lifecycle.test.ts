/**
 * The lifecycle's shared checks, against a host made of plain data (no lab: this file runs in seconds): a correct
 * facet passes every step, and each kind of broken facet fails the step that is there to catch it.
 */
import { Difference } from "../../components/facets/compare";
import { FacetDriver, Lifecycle, lifecycleRun } from "../lab/support/lifecycle";

const DESIRED = ["allow 50000-50099 from host1", "deny 50000-50099"];

/** A host's ruleset (the admin's rule first) and a firewall facet for it; `bugs` break one behaviour each. */
function fakeHost(
  bugs: { probeWrites?: boolean; applyAlwaysLoads?: boolean; removeLeavesOne?: boolean; applyTrustsMarker?: boolean } = {},
) {
  const rules = ["accept ssh"];
  let marker = false;
  const ours = () => rules.filter((r) => DESIRED.includes(r));
  const driver: FacetDriver = {
    probe: async () => {
      if (bugs.probeWrites) rules.push("counter");
      const actual = ours().join("\n");
      const differences: Difference[] =
        actual === DESIRED.join("\n") ? [] : [{ key: "rules", expected: DESIRED.join("\n"), actual } as Difference];
      return { state: { rules: actual }, differences };
    },
    apply: async () => {
      const upToDate = bugs.applyTrustsMarker ? marker : ours().join("\n") === DESIRED.join("\n");
      if (upToDate && !bugs.applyAlwaysLoads) return "no change";
      for (const r of ours()) rules.splice(rules.indexOf(r), 1);
      rules.push(...DESIRED);
      marker = true;
      return "loaded our rules";
    },
    remove: async () => {
      if (ours().length === 0) return "nothing to remove";
      for (const r of ours().slice(bugs.removeLeavesOne ? 1 : 0)) rules.splice(rules.indexOf(r), 1);
      marker = false;
      return "deleted our rules";
    },
  };
  const spec: Lifecycle<string[]> = {
    driver: () => driver,
    baseline: async () => [...rules],
    prepare: { title: "fresh", fresh: ({ state }) => expect(state.rules).toBe("") },
    converge: { title: "converge", says: "loaded" },
    idempotence: { title: "idempotence", says: "no change", changeWords: ["loaded"] },
    verify: [{ title: "verify", run: async ({ before }) => expect(rules).toEqual([...before, ...DESIRED]) }],
    drift: [
      {
        title: "a rule deleted by hand",
        edit: async () => void rules.splice(rules.indexOf(DESIRED[1]), 1),
        drifted: ({ differences }) => expect(differences.map((d) => d.key)).toEqual(["rules"]),
      },
    ],
    remove: { title: "remove", says: "deleted", saysAgain: "nothing to remove" },
  };
  return { spec, rules };
}

/** Runs the steps in order like jest would; the title of the first that failed, or "passed". */
async function firstFailure(spec: Lifecycle<string[]>): Promise<string> {
  const run = lifecycleRun(spec);
  await run.start();
  for (const step of run.steps) {
    try {
      await step.run();
    } catch {
      await run.cleanup();
      return step.title;
    }
  }
  return "passed";
}

describe("describeLifecycle's steps", () => {
  test("run in Molecule's order: prepare, converge, idempotence, verify, drift, remove", () => {
    expect(lifecycleRun(fakeHost().spec).steps.map((s) => s.title)).toEqual([
      "fresh",
      "converge",
      "idempotence",
      "verify",
      "a rule deleted by hand",
      "remove",
    ]);
  });

  test("a correct facet passes every step and leaves the host as it was", async () => {
    const { spec, rules } = fakeHost();
    expect(await firstFailure(spec)).toBe("passed");
    expect(rules).toEqual(["accept ssh"]);
  });

  test.each([
    ["a probe that changes the host", { probeWrites: true }, "fresh"],
    ["an apply that reloads when nothing differs", { applyAlwaysLoads: true }, "idempotence"],
    ["an apply that trusts its own marker and misses a hand edit", { applyTrustsMarker: true }, "a rule deleted by hand"],
    ["a remove that leaves one of its rules", { removeLeavesOne: true }, "remove"],
  ])("%s fails its step", async (_what, bugs, step) => {
    expect(await firstFailure(fakeHost(bugs).spec)).toBe(step);
  });

  test("a hand edit the probe cannot see fails its drift step (the repair after it would prove nothing)", async () => {
    const { spec } = fakeHost();
    spec.drift = [{ title: "an edit that changes nothing", edit: async () => undefined, drifted: () => undefined }];
    expect(await firstFailure(spec)).toBe("an edit that changes nothing");
  });

  test.each([
    ["converge", (spec: Lifecycle<string[]>) => void (spec.converge.says = "")],
    ["remove", (spec: Lifecycle<string[]>) => void (spec.remove.says = " ")],
    ["idempotence's change words", (spec: Lifecycle<string[]>) => void (spec.idempotence.changeWords = [])],
  ])("a spec whose %s check could not fail is refused", (_what, blank) => {
    const { spec } = fakeHost();
    blank(spec);
    expect(() => lifecycleRun(spec)).toThrow(/lifecycle: /);
  });

  test("a step that fails before remove still gets the host cleaned up", async () => {
    const { spec, rules } = fakeHost({ applyAlwaysLoads: true });
    expect(await firstFailure(spec)).toBe("idempotence");
    expect(rules).toEqual(["accept ssh"]);
  });
});

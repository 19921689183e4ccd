/**
 * One facet (or one firewall backend) on one lab host, from a fresh host to a host given back, in Molecule's order.
 * Molecule's `molecule test` runs create -> prepare -> converge -> idempotence -> side_effect -> verify -> cleanup ->
 * destroy (docs.ansible.com/projects/molecule, "Workflow Reference"). Here the lab's beforeAll/afterAll create and
 * destroy the hosts, and describeLifecycle adds, as tests of one describe that run in this order:
 *   prepare      the fresh probe finds nothing of ours and changes nothing (the baseline is the same after it);
 *   converge     apply says what it did; the probe then finds no difference;
 *   idempotence  apply again says "no change" and leaves the baseline byte for byte as converge left it;
 *   verify       the host checked with plain tools and real traffic, not with our probe (the test's own steps);
 *   drift        each hand edit (Molecule's side effect): the probe names exactly it, apply repairs it, the probe
 *                then finds no difference;
 *   remove       the baseline back byte for byte, and a second remove finds nothing to remove.
 * The order differs from Molecule's in one place: verify runs before the drift cases (each drift case checks its own
 * repair). The steps share the host, so each builds on the ones before it; an afterAll runs remove when the remove step
 * did not pass, so that a later describe on the same host starts from the baseline (Molecule's cleanup).
 */
import type { FacetDriver, Probed } from "../../../lab/harness/facetRunner";

export type { FacetDriver, Probed };

/** What every step may look at: the driver, and the baseline as the prepare step found it. */
export interface LifecycleContext<Baseline> {
  driver: FacetDriver;
  before: Baseline;
}

export interface Step<Baseline> {
  title: string;
  run(context: LifecycleContext<Baseline>): Promise<void>;
}

export interface DriftCase<Baseline> {
  /** The test's title: what was edited by hand, what the probe shows, what apply does. */
  title: string;
  /** The hand edit, made with the host's own tools, never with ours. */
  edit(context: LifecycleContext<Baseline>): Promise<void>;
  /** What the probe after the edit must show (and anything else true before the repair, such as lost traffic). */
  drifted(probed: Probed): Promise<void> | void;
  /** What must hold after apply repaired it, beyond the probe finding no difference. */
  repaired?(probed: Probed): Promise<void> | void;
}

export interface Lifecycle<Baseline> {
  /** Built when the lab is up (in beforeAll). */
  driver(): FacetDriver;
  /** The host as plain tools print it (rulesets, files): compared byte for byte across steps. */
  baseline(): Promise<Baseline>;
  prepare: {
    title: string;
    fresh(probed: Probed): Promise<void> | void;
    /** Checks of the host before converge (e.g. traffic that must not pass yet). */
    before?: Step<Baseline>[];
  };
  converge: { title: string; says: string; converged?(probed: Probed): Promise<void> | void };
  /** apply's sentence when nothing differs; `changeWords` must not appear in what it says. */
  idempotence: { title: string; says: string; changeWords: string[] };
  verify: Step<Baseline>[];
  drift: DriftCase<Baseline>[];
  remove: { title: string; says: string; saysAgain: string; removed?(context: LifecycleContext<Baseline>): Promise<void> };
}

/** A lifecycle ready to run: start (driver and baseline), the steps in order, and cleanup. */
export interface LifecycleRun {
  start(): Promise<void>;
  steps: { title: string; run(): Promise<void> }[];
  /** Runs remove when the remove step has not passed (a step failed before it). */
  cleanup(): Promise<void>;
}

/** The lifecycle's steps in Molecule's order, with the checks every facet shares; describeLifecycle makes them tests. */
export function lifecycleRun<Baseline>(spec: Lifecycle<Baseline>): LifecycleRun {
  let driver: FacetDriver;
  let before: Baseline;
  let removed = false;
  const context = (): LifecycleContext<Baseline> => ({ driver, before });
  const steps: LifecycleRun["steps"] = [];
  const step = (title: string, run: () => Promise<void>) => void steps.push({ title, run });
  // toContain("") passes for any output, and no change word checks nothing: a spec like that could not fail.
  const sentences = {
    converge: spec.converge.says,
    idempotence: spec.idempotence.says,
    remove: spec.remove.says,
    removeAgain: spec.remove.saysAgain,
  };
  for (const [which, said] of Object.entries(sentences))
    if (!said.trim()) throw new Error(`lifecycle: the ${which} sentence is empty, so its step would pass on any output`);
  if (!spec.idempotence.changeWords.some((w) => w.trim()))
    throw new Error("lifecycle: idempotence names no change word, so a second apply that changed the host would pass");

  step(spec.prepare.title, async () => {
    await spec.prepare.fresh(await driver.probe());
    expect(await spec.baseline()).toEqual(before);
  });
  for (const s of spec.prepare.before ?? []) step(s.title, () => s.run(context()));

  step(spec.converge.title, async () => {
    expect(await driver.apply()).toContain(spec.converge.says);
    const probed = await driver.probe();
    expect(probed.differences).toEqual([]);
    await spec.converge.converged?.(probed);
  });

  step(spec.idempotence.title, async () => {
    const converged = await spec.baseline();
    const said = await driver.apply();
    expect(said).toContain(spec.idempotence.says);
    for (const word of spec.idempotence.changeWords) expect(said).not.toContain(word);
    expect(await spec.baseline()).toEqual(converged);
  });

  for (const s of spec.verify) step(s.title, () => s.run(context()));

  for (const drift of spec.drift) {
    step(drift.title, async () => {
      await drift.edit(context());
      const drifted = await driver.probe();
      // An edit the probe does not see proves nothing about the repair that follows.
      expect(drifted.differences).not.toEqual([]);
      await drift.drifted(drifted);
      await driver.apply();
      const probed = await driver.probe();
      expect(probed.differences).toEqual([]);
      await drift.repaired?.(probed);
    });
  }

  step(spec.remove.title, async () => {
    expect(await driver.remove()).toContain(spec.remove.says);
    expect(await spec.baseline()).toEqual(before);
    await spec.remove.removed?.(context());
    removed = true;
    expect(await driver.remove()).toContain(spec.remove.saysAgain);
    expect(await spec.baseline()).toEqual(before);
  });

  return {
    start: async () => {
      driver = spec.driver();
      before = await spec.baseline();
    },
    steps,
    cleanup: async () => {
      if (driver && !removed) await driver.remove().catch(() => undefined);
    },
  };
}

/** Declares the lifecycle's tests in the current describe; call it inside a describe whose lab is already up. */
export function describeLifecycle<Baseline>(spec: Lifecycle<Baseline>): void {
  const run = lifecycleRun(spec);
  beforeAll(() => run.start());
  afterAll(() => run.cleanup());
  for (const { title, run: body } of run.steps) test(title, body);
}

/**
 * Jest's order of test files, with a floor for the lab and e2e files known to be long. The lab and e2e stages run two
 * files at a time, so a long file started last leaves one worker idle for its whole length. Jest starts the files it
 * has timed (in its cache, per checkout path) longest first, and files it has not timed largest first: on a clean
 * clone (CI) test/lab/concurrency.test.ts, a small file and the second longest, would start 23rd of 26.
 * Seconds measured on the 2-core machine: the lab files one at a time (load 2-9), the e2e files two at a time (the
 * last CI run). Only the order matters; jest's own timing wins where it has one.
 */
const Sequencer = require("@jest/test-sequencer").default;
const path = require("path");

const MEASURED_SECONDS = {
  "test/lab/firewall.test.ts": 364,
  "test/lab/concurrency.test.ts": 320,
  "test/lab/commandProvider.test.ts": 156,
  "test/lab/story.test.ts": 115,
  "test/lab/facets.test.ts": 99,
  "test/lab/verifyLimits.test.ts": 94,
  "test/e2e/engine.test.ts": 350,
  "test/e2e/firewallKinds.test.ts": 215,
  "test/e2e/rerun.test.ts": 213,
  "test/e2e/login.test.ts": 194,
  "test/e2e/stateScripts.test.ts": 159,
  "test/e2e/persistence.test.ts": 157,
  "test/e2e/previewEvents.test.ts": 147,
  "test/e2e/rotation.test.ts": 145,
  "test/e2e/package.test.ts": 132,
};

class KnownLongFirst extends Sequencer {
  /** The tests whose time below is their size: not a duration, which jest's scheduler must not read as one. */
  bySize = new WeakSet();

  time(test) {
    const timed = super.time(test);
    if (timed != null) return timed;
    const seconds = MEASURED_SECONDS[path.relative(test.context.config.rootDir, test.path).split(path.sep).join("/")];
    if (seconds !== undefined) return seconds * 1000;
    // Every file gets a time: jest starts the untimed ones first. Size (bytes as ms: under any measured file) keeps
    // jest's own order among the others.
    this.bySize.add(test);
    return (test.context.hasteFS.getSize(test.path) ?? 0) / 1000;
  }

  /**
   * jest's order, then no duration on the files timed by size: jest runs up to 20 files that all look shorter than a
   * second in one process whatever --maxWorkers says (@jest/core testSchedulerHelper), which a size taken for
   * milliseconds would make every small lab file look.
   */
  sort(tests) {
    const sorted = super.sort(tests);
    for (const test of sorted) if (this.bySize.has(test)) test.duration = undefined;
    return sorted;
  }
}

module.exports = KnownLongFirst;
module.exports.MEASURED_SECONDS = MEASURED_SECONDS;

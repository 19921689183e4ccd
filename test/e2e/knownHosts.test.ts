/**
 * The real engine with known_hosts as a user fills it (issue 12): 2 trixie hosts with rsa, ecdsa and ed25519 host keys,
 * the stack's ssh.knownHostsPath a file written by `ssh-keyscan` (rsa first), no hostKey pins. pulumi up converges and
 * the verification job (the command provider, given the head's ed25519 key) passes; a refreshed preview has nothing to
 * do; the state names every host key, each host's from known_hosts, and no mismatch appears anywhere.
 *   . scripts/engine-env.sh && npx jest --selectProjects e2e --runInBand --runTestsByPath test/e2e/knownHosts.test.ts
 */
import * as fs from "fs";
import { parse } from "yaml";
import { stackConfigPath } from "../../cli/pulumiRunner";
import { EngineLab, expectExit, pulumi, startEngineLab, stateFileText, stopEngineLab, Timings } from "./support";

const NAME = "kh2";
const timings = new Timings("knownHosts.test.ts (2 trixie hosts, known_hosts by ssh-keyscan, no pins) wall times");

let e: EngineLab;

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, 2, "trixie", { knownHosts: "keyscan" }));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

describe("pulumi with host keys from an ssh-keyscan known_hosts and no pins", () => {
  it("the stack pins no key and its known_hosts lists rsa first", () => {
    const config = (parse(fs.readFileSync(stackConfigPath(NAME, e.env), "utf8")) as { config: Record<string, any> }).config;
    expect(config["mpi-hosts:hosts"].every((h: Record<string, unknown>) => h.hostKey === undefined)).toBe(true);
    const first = fs.readFileSync(config["mpi-hosts:ssh"].knownHostsPath, "utf8").split("\n")[0];
    expect(first).toMatch(/^\[[\d.]+\]:2400 ssh-rsa /);
  });

  it("pulumi up converges both hosts and the verification job passes", async () => {
    const up = await timings.time("pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    expect(`${up.stdout}${up.stderr}`).not.toMatch(/mismatch/);
    const out = await pulumi(e, ["stack", "output", "verification", "--json"]);
    expectExit(out, 0);
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true, from: "host1" });
  });

  it("a refreshed preview has nothing to do, and the state holds every key of each host", async () => {
    const preview = await timings.time("pulumi preview --refresh --expect-no-changes", () =>
      pulumi(e, ["preview", "--refresh", "--expect-no-changes", "--diff"]),
    );
    expectExit(preview, 0);
    const state = stateFileText(e);
    for (const h of e.lab.hosts) for (const key of h.hostKeys) expect(state).toContain(key.split(" ")[1]);
  });
});

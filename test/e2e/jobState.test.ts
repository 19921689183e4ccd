/**
 * E7 (issue 15, R4): whoever can write the state cannot run a command on a host through the verification job. Until
 * this change the job was a @pulumi/command remote.Command, whose Delete runs the `delete` command recorded in the
 * state on the connection recorded in the state (pulumi-command v1.2.1 provider/pkg/provider/remote/commandController.go;
 * standins/command-provider does the same), at `pulumi destroy` and at every re-run of the job. Now the job is
 * mpi-hosts:index:VerificationJob, whose Delete runs nothing. Also the upgrade: a state holding the old job gets the new
 * one at the first `pulumi up`, which deletes the old one through the command provider.
 *
 * Real engine, real plugins, 2 trixie lab hosts (lab xj1). The old job's records are written into the state by hand,
 * in the shape @pulumi/command 1.2.1 records (type, default provider `default_1_2_1`, create/stdin/connection): the
 * control step shows that the command provider runs a `delete` found there, so the checks for a marker can see one.
 * Each host has its own /tmp (mount namespace): a marker is looked for on every host, as root, without SSH.
 */
import * as fs from "fs";
import * as path from "path";
import { VERIFICATION_JOB_TYPE } from "../../components/provider/resourceTypes";
import type { VerifyReport } from "../../components/verify/report";
import { EngineLab, expectExit, pulumi, resourceIds, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "xj1";
const HOSTS = ["host1", "host2"];
const JOB = `${NAME}-verify`;
const MARKER = "/tmp/pwned-job";
const OLD_TYPE = "command:remote:Command";
const timings = new Timings("jobState.test.ts (2 trixie hosts) wall times");

let e: EngineLab;

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  custom?: boolean;
  parent?: string;
  provider?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  dependencies?: string[];
  [k: string]: unknown;
}
interface Exported {
  version: number;
  deployment: { resources: StateResource[]; [k: string]: unknown };
}

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

async function exportState(): Promise<Exported> {
  const out = await pulumi(e, ["stack", "export"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as Exported;
}

async function importState(state: Exported): Promise<void> {
  const file = path.join(e.project, "tampered-state.json");
  fs.writeFileSync(file, JSON.stringify(state));
  expectExit(await pulumi(e, ["stack", "import", "--file", file]), 0);
}

// A destroyed stack's deployment has no resources list.
const jobOf = (state: Exported) => (state.deployment.resources ?? []).filter((r) => r.urn.endsWith(`::${JOB}`));

/** What `ls` finds of the marker on each host, as root (no SSH). */
async function markers(marker = MARKER): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const h of HOSTS) found[h] = (await root(e.lab, h, `cat ${marker} 2>/dev/null || echo none`)).trim();
  return found;
}

const NONE = Object.fromEntries(HOSTS.map((h) => [h, "none"]));

/** The fields a state writer adds to the job for @pulumi/command to run: its delete, and what goes with a command. */
const TAMPER = {
  delete: `id -u > ${MARKER}`,
  update: `id -u > ${MARKER}-update`,
  create: `id -u > ${MARKER}-create`,
  stdin: `id -u > ${MARKER}-stdin`,
  environment: { BASH_ENV: MARKER },
  addPreviousOutputInEnv: true,
};

/** The state with the job's record (inputs and outputs) given the fields a state writer adds. */
function tampered(state: Exported): Exported {
  const [job] = jobOf(state);
  job.inputs = { ...job.inputs, ...TAMPER };
  job.outputs = { ...job.outputs, ...TAMPER };
  return state;
}

/**
 * The state with the job replaced by a @pulumi/command 1.2.1 job of the same name, as the program before this change
 * declared it (connection to the head with the admin key, `sh -s` and the script on stdin), and its default provider.
 */
function withOldJob(state: Exported, extra: Record<string, unknown> = {}): Exported {
  const resources = state.deployment.resources;
  const at = resources.findIndex((r) => r.urn.endsWith(`::${JOB}`));
  const job = resources[at];
  const stack = e.stack;
  const providerUrn = `urn:pulumi:${stack}::mpi-hosts::pulumi:providers:command::default_1_2_1`;
  const providerId = "3a2b6f8e-7c1d-4e5f-9a0b-1c2d3e4f5a6b";
  const head = e.lab.hosts[0];
  const props = {
    connection: {
      host: head.address,
      port: head.port,
      user: head.user,
      privateKey: fs.readFileSync(e.lab.privateKeyPath, "utf8"),
      hostKey: head.hostKey,
      dialErrorLimit: 3,
      perDialTimeout: 10,
    },
    create: "sh -s",
    stdin: "echo old job >&2",
    triggers: [(job.inputs as { fingerprint: string }).fingerprint, (job.inputs as { appliedAt: unknown }).appliedAt],
    logging: "stderr",
    ...extra,
  };
  const provider: StateResource = {
    urn: providerUrn,
    custom: true,
    id: providerId,
    type: "pulumi:providers:command",
    inputs: { version: "1.2.1" },
    outputs: { version: "1.2.1" },
  };
  const old: StateResource = {
    urn: job.urn.replace(`$${VERIFICATION_JOB_TYPE}::`, `$${OLD_TYPE}::`),
    custom: true,
    id: JOB,
    type: OLD_TYPE,
    parent: job.parent,
    provider: `${providerUrn}::${providerId}`,
    dependencies: job.dependencies,
    inputs: props,
    outputs: { ...props, stdout: (job.outputs as { stdout: string }).stdout, stderr: "" },
  };
  expect(old.urn).not.toBe(job.urn);
  resources.splice(at, 1, provider, old);
  return state;
}

async function verificationOutput(): Promise<VerifyReport> {
  const out = await pulumi(e, ["stack", "output", "verification", "--json"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as VerifyReport;
}

let timeoutSeconds = 60;
/** A config change that re-runs the job and applies no facet: the job's own time limit. */
async function changeJobConfig(): Promise<void> {
  timeoutSeconds += 1;
  expectExit(await pulumi(e, ["config", "set", "--path", "mpi-hosts:verify.timeoutSeconds", String(timeoutSeconds)]), 0);
}

describe("the verification job's state cannot run a command on a host (E7, 2 trixie hosts)", () => {
  it("1. pulumi up records the job as mpi-hosts:index:VerificationJob, with no script, no command and no key", async () => {
    const up = await timings.time("step 1: pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const shown = await pulumi(e, ["stack", "export", "--show-secrets"]);
    expectExit(shown, 0);
    const [job] = jobOf(JSON.parse(shown.stdout) as Exported);
    expect(job.type).toBe(VERIFICATION_JOB_TYPE);
    expect(Object.keys(job.outputs ?? {}).sort()).toEqual(["appliedAt", "cluster", "connection", "fingerprint", "ranAt", "stdout"]);
    // No key, no script (its first lines), no command of @pulumi/command's.
    expect(JSON.stringify(job)).not.toMatch(
      /PRIVATE KEY|privateKey|#!\/bin\/sh|generated from the stack config|"sh -s"|"(create|delete|stdin)"/,
    );
    // The job's progress, streamed by the plugin into the display as it ran.
    expect(up.stdout).toContain("mpi-hosts: verify: preflight passed");
    expect(await verificationOutput()).toMatchObject({ ok: true, from: "host1" });
  });

  it("2. upgrade: a state holding the @pulumi/command job gets the new job at the next pulumi up, which deletes the old one", async () => {
    await importState(withOldJob(await exportState()));
    expect(jobOf(await exportState()).map((r) => r.type)).toEqual([OLD_TYPE]);
    const up = await timings.time("step 2: pulumi up over an old job", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const after = await exportState();
    expect(jobOf(after).map((r) => r.type)).toEqual([VERIFICATION_JOB_TYPE]);
    expect(after.deployment.resources.filter((r) => r.type.startsWith("command:"))).toEqual([]);
    // The job ran (its progress is in the display) and its report is the output.
    expect(up.stdout).toMatch(/mpi-hosts verify: ok/);
    expect(await verificationOutput()).toMatchObject({ ok: true, from: "host1" });
    expect(await markers()).toEqual(NONE);
  });

  it("3. control: the command provider runs a `delete` a state writer gave the old job, at that upgrade pulumi up (what the new job's checks below would see)", async () => {
    await importState(withOldJob(await exportState(), { delete: `id -u > ${MARKER}` }));
    const up = await timings.time("step 3: pulumi up over a tampered old job", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    // The login user's uid, on the head host only: where the old job's recorded connection pointed.
    expect(await markers()).toEqual({ host1: expect.stringMatching(/^[1-9][0-9]*$/), host2: "none" });
    await root(e.lab, "host1", `rm -f ${MARKER}`);
    expect(jobOf(await exportState()).map((r) => r.type)).toEqual([VERIFICATION_JOB_TYPE]);
  });

  it("4. a job record given a delete (and create, update, stdin, environment): pulumi up after a config change re-runs the job and runs none of them", async () => {
    const before = (await resourceIds(e))[JOB];
    await importState(tampered(await exportState()));
    expect(jobOf(await exportState())[0].outputs).toMatchObject({ delete: `id -u > ${MARKER}` });
    await changeJobConfig();
    const preview = await pulumi(e, ["preview", "--diff"]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(new RegExp(`\\+-${VERIFICATION_JOB_TYPE}: \\(replace\\)`));
    const up = await timings.time("step 4: pulumi up (config change) over a tampered job", () =>
      pulumi(e, ["up", "--yes", "--skip-preview"]),
    );
    expectExit(up, 0);
    expect((await resourceIds(e))[JOB]).not.toBe(before); // the job ran again: replaced, the tampered record deleted
    expect(await markers()).toEqual(NONE);
    for (const suffix of ["-update", "-create", "-stdin"]) expect(await markers(`${MARKER}${suffix}`)).toEqual(NONE);
    // A replaced record is gone with what was added to it.
    expect(JSON.stringify(jobOf(await exportState()))).not.toContain(MARKER);
  });

  it("5. pulumi destroy with a job record given a delete runs nothing of it", async () => {
    await importState(tampered(await exportState()));
    const destroy = await timings.time("step 5: pulumi destroy over a tampered job", () =>
      pulumi(e, ["destroy", "--yes", "--skip-preview"]),
    );
    expectExit(destroy, 0);
    expect(await markers()).toEqual(NONE);
    expect(jobOf(await exportState())).toEqual([]);
  });
});

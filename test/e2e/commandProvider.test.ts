/**
 * Issue 14 through the real engine: the head host's ssh session running the verification job is killed in the
 * middle of the job (as a reboot of the head host or a network blip would), and `pulumi up` must fail, naming
 * the host and the verification stage reached, instead of succeeding with an empty `verification` output. The
 * next `pulumi up` runs the job again and passes. 3 trixie hosts.
 *   . scripts/engine-env.sh && npx jest --selectProjects e2e --runInBand test/e2e/commandProvider.test.ts
 */
import { EngineLab, explain, expectExit, pulumi, startEngineLab, stopEngineLab, Timings } from "./support";
import { rootExec } from "../../lab/lab";

const NAME = "cmdprov-e2e";
const HOSTS = ["host1", "host2", "host3"];
const timings = new Timings("commandProvider.test.ts (3 trixie hosts) wall times");

let e: EngineLab;

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

/**
 * As root on the head host (no SSH): waits until the verification job has reached its TCP matrix (the job's work
 * directory holds the head's listener output), then kills the sshd process serving the job's session (the parent
 * of the job's `/bin/sh -s`). Prints the killed PID and the stage files present.
 */
const KILL_JOB_SESSION_AT_TCP_MATRIX = String.raw`
for i in $(seq 1 30000); do
  set -- /tmp/mpi-hosts-verify.*/listen.host1
  [ -e "$1" ] && break
  sleep 0.02
done
[ -e "$1" ] || { echo "the verification job never reached its TCP matrix" >&2; exit 1; }
work=$(dirname "$1")
for p in /proc/[0-9]*; do
  # The job's shell: "/bin/sh -s" (the mpi-hosts plugin, remote.ts), "sh -s" (@pulumi/command before issue 15 R4).
  case "$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)" in "sh -s "|"/bin/sh -s ") ;; *) continue ;; esac
  read -r _ _ _ ppid _ < "$p/stat"
  case "$(tr '\0' ' ' < /proc/$ppid/cmdline)" in
    sshd*) echo "killing $ppid ($(tr '\0' ' ' < /proc/$ppid/cmdline)), the session of job $(basename "$p"); stage files: $(ls "$work" | tr '\n' ' ')"
      kill -KILL "$ppid"; exit 0 ;;
  esac
done
echo "no ssh session running sh -s found" >&2
exit 1
`;

describe("the verification job's session killed mid-run under pulumi up", () => {
  it("pulumi up fails, naming the head host and the stage the job reached; it does not succeed with an empty report", async () => {
    const started = Date.now();
    const up = pulumi(e, ["up", "--yes", "--skip-preview"]);
    const killer = await rootExec(e.lab, "host1", KILL_JOB_SESSION_AT_TCP_MATRIX, { timeoutMs: 600000 });
    const killedAt = Date.now();
    const result = await up;
    timings.record("step 1: pulumi up until the kill", killedAt - started);
    timings.record("step 1: from the kill to pulumi up's exit", Date.now() - killedAt);
    if (killer.code !== 0) throw new Error(`could not kill the job's session: ${killer.stderr}\n${explain(result)}`);
    console.log(`on host1: ${killer.stdout}`);

    expectExit(result, "non-zero");
    const output = result.stdout + result.stderr;
    const at = output.indexOf("wait: remote command");
    console.log(`pulumi up (exit ${result.code}), the job's error:\n${output.slice(Math.max(0, at - 200), at + 1500)}`);
    const head = e.lab.hosts[0];
    expect(output).toContain("wait: remote command exited without exit status or exit signal");
    expect(output).toContain(`${head.user}@${head.address}:${head.port}`);
    expect(output).toContain("verify: TCP matrix over 3 hosts");
    expect(output).toContain(`mpi-hosts:index:VerificationJob (${NAME}-verify)`);
  });

  it("the next pulumi up runs the verification job again and it passes on every host", async () => {
    const up = await timings.time("step 2: pulumi up again", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const report = await pulumi(e, ["stack", "output", "verification"]);
    expect(report.code).toBe(0);
    for (const h of HOSTS) expect(report.stdout).toContain(h);
  });
});

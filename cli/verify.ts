/**
 * `npm run verify -- --stack NAME`: the verification job on demand, over SSH from here to the head host, with no
 * `pulumi up` and no engine. Prints the host x host matrix, versions, retries and each problem with what to change
 * (under a failed MPI test, the lines of mpirun's output that say why);
 * `--html FILE` also writes the matrix as a page; `--json` prints the report instead. Exit 0 pass, 1 failure.
 */
import * as fs from "fs";
import { Cluster, VERIFY_TEST_VALUES, VerifyTest } from "../components/config/types";
import { loginSourcesOf, withoutSecretsNote } from "../components/provider/credentials";
import { closeAll } from "../components/provider/remote";
import { renderHtml } from "../components/verify/html";
import { runVerification, VerifyRun } from "../components/verify/run";
import { renderSummary } from "../components/verify/summary";
import { stackFileFromArgs, UsageError } from "./args";
import { defineCommand, runnerOf } from "./command";
import { clusterForCommand, encryptedLoginSecrets } from "./stackConfig";
import { commandLine, usageLines } from "./usage";

const TESTS: readonly VerifyTest[] = VERIFY_TEST_VALUES;

const help = `${usageLines("verify", "[--stack NAME | FILE] [--tests LIST] [--html FILE] [--json] [--quiet]")}

Runs the verification job now, the one \`pulumi up\` runs: from the head host (mpi-hosts:verify.from), a
preflight (ssh between every pair of hosts without prompts, Open MPI and mpi4py versions, what a non-interactive
shell finds, name resolution, a TCP connect from every host to every other in each MPI port range), then the MPI
tests. Reaches the head over SSH as ssh does: the keys of ssh-agent (SSH_AUTH_SOCK) first, then the key file
mpi-hosts:ssh.privateKeyPath (a passphrase-protected one must be in the agent: the stack file's secrets,
mpi-hosts:sshPrivateKey and mpi-hosts:sshKeyPassphrase, need the engine, and are named when set), checking its
pinned or known host keys; changes nothing on any host.

  --stack NAME   read Pulumi.NAME.yaml (or give the file)
  --tests LIST   comma-separated, instead of mpi-hosts:verify.tests (${TESTS.join(", ")})
  --html FILE    also write the host x host matrix as a self-contained HTML page
  --json         print the JSON report instead of the summary
  --quiet        no progress lines on stderr

Each mpirun ends at mpi-hosts:verify.timeoutSeconds (KILL 5 s after TERM), and what a failed one left on any
host is ended. A failed test shows the lines of mpirun that say why (the host they name, the connect that failed);
a runtime launch failure (a daemon lost or not started) is tried once more, and the summary says so.

Exit 0: every stage passed. Exit 1: a stage failed (each problem is listed with what to change), or the job
could not run.
`;

function fail(message: string): number {
  process.stderr.write(`verify: ${message}\n`);
  return 1;
}

function parseTests(list: string): VerifyTest[] {
  const tests = list
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = tests.filter((t) => !TESTS.includes(t as VerifyTest));
  if (unknown.length || !tests.length) throw new UsageError(`--tests takes a comma-separated list of ${TESTS.join(", ")}; got '${list}'`);
  return tests as VerifyTest[];
}

export const command = defineCommand({
  name: "verify",
  help,
  flags: ["json", "quiet"],
  values: ["stack", "tests", "html"],
  positionals: true,
  exitCodes: { 0: "every stage passed", 1: "a stage failed, the job could not run, or a usage error" },
  async run(args) {
    const file = stackFileFromArgs(args);
    const tests = typeof args.options.tests === "string" ? parseTests(args.options.tests) : undefined;
    if (!file) return fail(`name the stack\n\n${help}`);
    const cluster = clusterForCommand(file, {
      warnings: false,
      describeError: (error) =>
        `verify: ${error.startsWith(`${file}: `) ? error : `${file} is not a valid cluster config (${commandLine("validate", file)}):\n${error}`}`,
    });
    if (!cluster) return 1;
    return verifyCluster(file, cluster, args.options, tests);
  },
});

export const run = runnerOf(command);

async function verifyCluster(
  file: string,
  cluster: Cluster,
  options: Record<string, string | boolean>,
  tests: VerifyTest[] | undefined,
): Promise<number> {
  // What cannot be read here (an unreadable key file, one with a passphrase, the stack's encrypted secrets) is named
  // if the host refuses the rest; encrypted login secrets are named up front too.
  const encrypted = encryptedLoginSecrets(file);
  const note = withoutSecretsNote(encrypted);
  if (note) process.stderr.write(`verify: ${note}\n`);
  const login = { ...loginSourcesOf(cluster), withoutSecrets: { encrypted } };

  let result: VerifyRun;
  try {
    result = await runVerification(cluster, login, {
      tests,
      onProgress: options.quiet ? undefined : (line) => line.startsWith("mpi-hosts: verify: ") && process.stderr.write(`${line}\n`),
    });
  } catch (err) {
    return fail(`could not run the job on ${cluster.verify.from}: ${(err as Error).message}`);
  } finally {
    await closeAll();
  }
  if (!result.report) return fail(`${result.problem ?? "no report"}`);

  process.stdout.write(options.json ? `${JSON.stringify(result.report, null, 2)}\n` : renderSummary(result.report));
  if (typeof options.html === "string") {
    fs.writeFileSync(options.html, renderHtml(result.report));
    process.stderr.write(`verify: wrote ${options.html} (open it in a browser)\n`);
  }
  return result.report.ok && result.code === 0 ? 0 : 1;
}

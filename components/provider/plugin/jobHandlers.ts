/**
 * mpi-hosts:index:VerificationJob in the provider plugin: the verification job, run on the head host over SSH as the
 * facets run their scripts (../remote), logged in as the facets are (../credentials: ssh-agent, or the key file or
 * secret key of the provider's config), its script rendered here by the installed code (renderVerifyScript) from the
 * program's checked inputs.
 *
 * Nothing of a state is ever run, and nothing in the state can choose what runs or where: create and a re-run take the
 * program's inputs (`news`) only; delete runs nothing and connects nowhere (the job leaves nothing on any host: its
 * script removes its temporary directory and listeners on exit, templates/verify/verify.sh); read returns the
 * record. A job recorded by @pulumi/command (command:remote:Command, with a `delete` command and a connection with
 * the key) is another resource type: the command provider deletes it (docs/security.md, R4).
 */
import { randomBytes } from "crypto";
import { LoginSources, loginSourcesFromConfig } from "../credentials";
import { runScript } from "../remote";
import { PROVIDER_PACKAGE } from "../resourceTypes";
import {
  checkedJobInputs,
  clusterOfJob,
  JOB_INPUT_KEYS,
  JOB_OUTPUT_KEYS,
  jobInputProblems,
  VerificationJobInputs,
  VerificationJobOutputs,
} from "../../verify/jobInputs";
import { planVerification } from "../../verify/plan";
import { overallTimeoutSeconds } from "../../verify/run";
import { renderPlannedScript } from "../../verify/script";
import { logLine } from "./engineLog";
import { containsUnknown, DiffResult, plain, Props } from "./handlers";

/** How this process logs in: Configure's stack config, the CLI's SSH_AUTH_SOCK. */
let configured: LoginSources | undefined;

const VARIABLE_PREFIX = `${PROVIDER_PACKAGE}:config:`;

function only(props: Props, keys: readonly string[]): Props {
  return Object.fromEntries(keys.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]));
}

const json = (v: unknown) => JSON.stringify(v ?? null);

/** Runs the job the installed code renders from checked inputs; fails as @pulumi/command failed (exit status, where, its output). */
async function run(urn: string, news: Props): Promise<{ id: string; outs: VerificationJobOutputs }> {
  const inputs: VerificationJobInputs = checkedJobInputs(news, urn);
  const plan = planVerification(clusterOfJob(inputs));
  // Under `pulumi up` a failed job prints no report: the error carries what the display already showed (ScriptOptions).
  const script = renderPlannedScript(plan, { reportOnFailure: false });
  const { connection } = inputs;
  const login = configured ?? { agentSocket: process.env.SSH_AUTH_SOCK || undefined };
  const pending: Promise<void>[] = [];
  const result = await runScript({ ...connection, login }, script, {
    step: "verification job",
    timeoutSeconds: overallTimeoutSeconds(plan),
    onStderrLine: (line) => void pending.push(logLine(urn, line)),
  });
  await Promise.all(pending);
  if (result.code !== 0) {
    const where = `${connection.user}@${connection.address}:${connection.port}`;
    // As x/crypto/ssh says it, which @pulumi/command's error began with: a session that ended without an exit status
    // (the connection lost, the head rebooted) is not a failed check.
    const how =
      result.code < 0 ? "wait: remote command exited without exit status or exit signal" : `Process exited with status ${result.code}`;
    throw new Error(`${how}: running "sh -s" on ${where}:\n${result.stdout}${result.stderr}`);
  }
  const ranAt = new Date().toISOString();
  return { id: `${plan.from}/verify/${ranAt}/${randomBytes(4).toString("hex")}`, outs: { ...inputs, stdout: result.stdout, ranAt } };
}

export const jobHandlers = {
  /** The login sources of the provider's config, read as the facet operations read them. */
  async configure(variables: Record<string, string>): Promise<void> {
    const get = (key: string) => {
      const k = key.startsWith(`${PROVIDER_PACKAGE}:`) ? `${VARIABLE_PREFIX}${key.slice(PROVIDER_PACKAGE.length + 1)}` : key;
      return variables[k];
    };
    configured = loginSourcesFromConfig(get);
  },

  /** The program's inputs, checked (those still unknown in a preview are checked at create). */
  async check(urn: string, news: Props): Promise<Props> {
    const values = plain<Props>(news);
    const known = JOB_INPUT_KEYS.filter((k) => !containsUnknown(values[k]));
    const foreign = Object.keys(values).filter((k) => !(JOB_INPUT_KEYS as readonly string[]).includes(k) && values[k] !== undefined);
    const problems = [
      ...foreign.map((k) => `${k} is not an input of the verification job`),
      ...jobInputProblems(only(values, known), known),
    ];
    if (problems.length) throw new Error(`${urn}: the verification job's inputs are not what mpi-hosts declares: ${problems.join("; ")}`);
    return news;
  },

  /**
   * Any change of an input re-runs the job, as a replacement (as with @pulumi/command): the preview shows the job
   * replaced and which input changed; the old job's delete runs nothing.
   */
  async diff(_urn: string, _id: string, olds: Props, news: Props): Promise<DiffResult> {
    const o = plain<Props>(olds);
    const n = plain<Props>(news);
    const changed = JOB_INPUT_KEYS.filter((k) => containsUnknown(n[k]) || json(o[k]) !== json(n[k]));
    return { changes: changed.length > 0, replaces: [...changed], deleteBeforeReplace: false, diffs: [...changed] };
  },

  async create(urn: string, inputs: Props): Promise<{ id: string; outs: Props }> {
    const r = await run(urn, plain<Props>(inputs));
    return { id: r.id, outs: r.outs as unknown as Props };
  },

  /** Never asked for (every change replaces); should an engine ask, it re-runs from the program's inputs. */
  async update(urn: string, _id: string, _olds: Props, news: Props): Promise<Props> {
    return (await run(urn, plain<Props>(news))).outs as unknown as Props;
  },

  /** The record, without anything a state added that the job does not have. */
  async read(_urn: string, _id: string, props: Props): Promise<Props> {
    return only(props, JOB_OUTPUT_KEYS);
  },

  /** Nothing to undo, nowhere to go: whatever the state holds is not read. */
  async delete(_urn: string, _id: string, _props: Props): Promise<void> {},
};

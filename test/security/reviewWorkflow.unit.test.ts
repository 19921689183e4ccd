/**
 * Issue 15, item 7: the pull-request review workflow runs a pull request's own code. Only the job behind a protected
 * environment (required reviewers, set in the repository's settings) sees the secrets; it never creates a stack, and
 * the SSH key goes to an agent for a refresh only, never into the stack config (and so never into the state).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

interface Step {
  name?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}

const WORKFLOW = path.join(__dirname, "..", "..", ".github", "workflows", "review.yml");
const text = fs.readFileSync(WORKFLOW, "utf8");
const workflow = parse(text) as { permissions?: Record<string, string>; jobs: Record<string, Job> };
const jobs = Object.entries(workflow.jobs);
/** Everything a job can evaluate, as text: where `secrets.` would appear. */
const jobText = (job: Job) => JSON.stringify(job);

describe("the review workflow", () => {
  it("gives the whole workflow a read-only token", () => {
    expect(workflow.permissions).toEqual({ contents: "read" });
  });

  it("uses secrets only in jobs behind the environment mpi-hosts-preview", () => {
    const withSecrets = jobs.filter(([, job]) => /secrets\./.test(jobText(job)));
    expect(withSecrets.map(([name]) => name)).toEqual(["preview"]);
    for (const [, job] of withSecrets) expect(job.environment).toBe("mpi-hosts-preview");
  });

  it("lets only the preview job write to the pull request", () => {
    for (const [name, job] of jobs) {
      if (name === "preview") expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
      else expect(job.permissions?.["pull-requests"]).toBeUndefined();
    }
  });

  it("never creates a stack", () => {
    expect(text).not.toMatch(/stack (select|init)[^\n]*--create|stack init/);
  });

  it("does not treat Pulumi.example.yaml as a stack", () => {
    const list = workflow.jobs.stacks.steps.find((s) => s.run?.includes("Pulumi.*.yaml"))!.run!;
    expect(list).toContain("! -name 'Pulumi.example.yaml'");
  });

  it("never puts the SSH key into the stack config, and loads it into an agent only for a refresh", () => {
    expect(text).not.toMatch(/config set[^\n]*sshPrivateKey/);
    const keySteps = workflow.jobs.preview.steps.filter((s) => JSON.stringify(s).includes("MPI_HOSTS_SSH_PRIVATE_KEY"));
    expect(keySteps).toHaveLength(1);
    expect(keySteps[0].if).toContain("vars.MPI_HOSTS_PREVIEW_REFRESH == 'true'");
    expect(keySteps[0].run).toContain("ssh-add");
  });
});

/**
 * Which Pulumi backend (where stacks' state lives) mpi-hosts' commands use: the one a plain `pulumi` command in the
 * project would use, so that `npm run drift -- --stack mylab` finds the stack `pulumi up` wrote. Pulumi's order
 * (PULUMI_BACKEND_URL, then the project's backend.url, then the current login: pulumi PR #5789), with
 * MPI_HOSTS_STATE (a directory, for the tests and the demo) after the environment variable, and, on a machine that
 * has never run `pulumi login`, the project's own `.pulumi-state` (in a clone the checkout, where `npm run demo` puts
 * the lab stack; from the package the user's project) rather than Pulumi Cloud, which this tool never calls.
 */
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { CommandFailure } from "./command";
import { readIfExists } from "./readIfExists";

export interface Backend {
  url: string;
  /** Where the choice came from, for messages ("PULUMI_BACKEND_URL", "pulumi login (~/.pulumi/credentials.json)", ...). */
  source: string;
}

/** A file's text; undefined: no such file; throws when it is there but cannot be read (./readIfExists). */
type ReadFile = (file: string) => string | undefined;

/** Where `pulumi login` records the current backend: ${PULUMI_HOME:-~/.pulumi}/credentials.json. */
export function credentialsFile(env: NodeJS.ProcessEnv): string {
  return path.join(env.PULUMI_HOME || path.join(env.HOME || os.homedir(), ".pulumi"), "credentials.json");
}

/** The URL of `backend: url:` in the project's Pulumi.yaml, if any. */
function projectBackend(projectDir: string, read: ReadFile): string | undefined {
  const text = read(path.join(projectDir, "Pulumi.yaml"));
  if (text === undefined) return undefined;
  const url = (parseYaml(text) as { backend?: { url?: unknown } } | null)?.backend?.url;
  return typeof url === "string" && url ? url : undefined;
}

/**
 * The backend of the last `pulumi login` (its `current` entry), if any. As pulumi reads the file (pkg/workspace/creds.go
 * readCredentialsFile): missing or empty, no login; not JSON, or `current` not a string, an error naming the file, since
 * falling back to another backend would look for the stacks in the wrong place.
 */
function loginBackend(file: string, read: ReadFile): string | undefined {
  const text = read(file);
  if (text === undefined || text === "") return undefined;
  let credentials: unknown;
  try {
    credentials = JSON.parse(text);
  } catch (err) {
    // Where, not what: V8's message quotes the text, and the file holds access tokens.
    const where = /line \d+ column \d+|position \d+/.exec((err as Error).message)?.[0];
    throw new CommandFailure(`${file}: not valid JSON${where ? ` (at ${where})` : ""}: ${FIX_CREDENTIALS}`);
  }
  // JSON null is what Go's json.Unmarshal, as pulumi uses it, takes for "nothing": no login.
  if (credentials === null) return undefined;
  if (typeof credentials !== "object" || Array.isArray(credentials)) {
    throw new CommandFailure(
      `${file}: expected a JSON object (pulumi login's credentials), found ${describeJson(credentials)}: ${FIX_CREDENTIALS}`,
    );
  }
  const current = (credentials as { current?: unknown }).current;
  if (current !== undefined && current !== null && typeof current !== "string") {
    throw new CommandFailure(
      `${file}: "current" (the backend of the last pulumi login) is ${describeJson(current)}, expected a URL string: ${FIX_CREDENTIALS}`,
    );
  }
  return typeof current === "string" && current ? current : undefined;
}

// pulumi itself stops on such a file ("Please fix or delete invalid credentials file").
const FIX_CREDENTIALS = "fix or delete it (then `pulumi login <url>` writes a new one), or set PULUMI_BACKEND_URL";

/** The kind of a JSON value, not the value: the file holds access tokens. */
function describeJson(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** `projectName` names projectDir in the fallback's source: "this checkout", "the project in the working directory". */
export function resolveBackend(
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
  read: ReadFile = readIfExists,
  projectName = `the project in ${projectDir}`,
): Backend {
  if (env.PULUMI_BACKEND_URL) return { url: env.PULUMI_BACKEND_URL, source: "PULUMI_BACKEND_URL" };
  if (env.MPI_HOSTS_STATE) return { url: `file://${path.resolve(env.MPI_HOSTS_STATE)}`, source: "MPI_HOSTS_STATE" };
  const project = projectBackend(projectDir, read);
  if (project) return { url: project, source: `backend.url in ${path.join(projectDir, "Pulumi.yaml")}` };
  const credentials = credentialsFile(env);
  const login = loginBackend(credentials, read);
  if (login) return { url: login, source: `pulumi login (${credentials})` };
  return {
    url: `file://${path.join(projectDir, ".pulumi-state")}`,
    source: `the local state of ${projectName}: no PULUMI_BACKEND_URL, no backend.url in its Pulumi.yaml, no pulumi login`,
  };
}

/** What to say when pulumi answers "no stack named ... found": where it looked, and why there. */
export function missingStackMessage(stack: string, backend: Backend): string {
  return (
    `no stack '${stack}' in ${backend.url} (the backend from ${backend.source}). ` +
    `\`pulumi stack ls\` lists the stacks there; if the stack is elsewhere, \`pulumi login <url>\` or set PULUMI_BACKEND_URL`
  );
}

/** Whether pulumi's output says the stack does not exist. */
export function saysNoSuchStack(output: string): boolean {
  return /no stack named '[^']*' found/.test(output);
}

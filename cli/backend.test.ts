import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { credentialsFile, missingStackMessage, resolveBackend, saysNoSuchStack } from "./backend";
import { projectDescription } from "./pulumiRunner";

/** Files as a map: what is not in it does not exist. */
function files(map: Record<string, string>) {
  return (file: string) => map[file];
}

const PROJECT = "/home/u/cluster";
const HOME = { HOME: "/home/u" };
const LOGIN = files({ "/home/u/.pulumi/credentials.json": JSON.stringify({ current: "file:///home/u/.mpi-hosts-state", accounts: {} }) });

describe("the backend mpi-hosts looks in is the one pulumi would use", () => {
  it("takes the backend of the last pulumi login", () => {
    expect(resolveBackend(PROJECT, HOME, LOGIN)).toEqual({
      url: "file:///home/u/.mpi-hosts-state",
      source: "pulumi login (/home/u/.pulumi/credentials.json)",
    });
  });

  it("reads the login under PULUMI_HOME when it is set", () => {
    const read = files({ "/srv/pulumi/credentials.json": JSON.stringify({ current: "s3://bucket/state" }) });
    expect(resolveBackend(PROJECT, { ...HOME, PULUMI_HOME: "/srv/pulumi" }, read).url).toBe("s3://bucket/state");
    expect(credentialsFile({ ...HOME, PULUMI_HOME: "/srv/pulumi" })).toBe("/srv/pulumi/credentials.json");
  });

  it("prefers the project's backend.url to the login, as pulumi does", () => {
    const read = files({
      ...{ "/home/u/.pulumi/credentials.json": JSON.stringify({ current: "file:///elsewhere" }) },
      [`${PROJECT}/Pulumi.yaml`]: "name: mpi-hosts\nruntime: nodejs\nbackend:\n  url: gs://lab-state\n",
    });
    expect(resolveBackend(PROJECT, HOME, read)).toEqual({ url: "gs://lab-state", source: `backend.url in ${PROJECT}/Pulumi.yaml` });
  });

  it("prefers PULUMI_BACKEND_URL to everything, then MPI_HOSTS_STATE", () => {
    expect(resolveBackend(PROJECT, { ...HOME, PULUMI_BACKEND_URL: "s3://x", MPI_HOSTS_STATE: "/tmp/s" }, LOGIN).url).toBe("s3://x");
    expect(resolveBackend(PROJECT, { ...HOME, MPI_HOSTS_STATE: "/tmp/s" }, LOGIN)).toEqual({
      url: "file:///tmp/s",
      source: "MPI_HOSTS_STATE",
    });
  });

  it.each([
    ["no credentials file", files({})],
    ["an empty one (pulumi takes it for none: an interrupted write)", files({ "/home/u/.pulumi/credentials.json": "" })],
    ["one without a current backend (after pulumi logout)", files({ "/home/u/.pulumi/credentials.json": '{"accounts":{}}' })],
  ])("falls back to the project's .pulumi-state on a machine that never logged in (%s), and says so", (_what, read) => {
    const b = resolveBackend(PROJECT, HOME, read);
    expect(b.url).toBe(`file://${PROJECT}/.pulumi-state`);
    expect(b.source).toBe(
      `the local state of the project in ${PROJECT}: no PULUMI_BACKEND_URL, no backend.url in its Pulumi.yaml, no pulumi login`,
    );
  });

  it("names the project of that fallback as it is: this checkout in a clone, the working directory's project from the package", () => {
    const where = (fromClone: boolean) => resolveBackend(PROJECT, HOME, files({}), projectDescription(HOME, fromClone)).source;
    expect(where(true)).toMatch(/^the local state of this checkout: no PULUMI_BACKEND_URL/);
    expect(where(false)).toMatch(/^the local state of the project in the working directory: no PULUMI_BACKEND_URL/);
    expect(missingStackMessage("mylab", resolveBackend(PROJECT, HOME, files({}), projectDescription(HOME, false)))).toMatch(
      /^no stack 'mylab' in file:\/\/\/home\/u\/cluster\/.pulumi-state \(the backend from the local state of the project in the working directory: /,
    );
    expect(projectDescription({ ...HOME, MPI_HOSTS_PROJECT: "/tmp/snap" }, true)).toBe("the project in MPI_HOSTS_PROJECT (/tmp/snap)");
  });

  it("names the backend and why it was chosen when the stack is not there", () => {
    const message = missingStackMessage("mylab", resolveBackend(PROJECT, HOME, LOGIN));
    expect(message).toBe(
      "no stack 'mylab' in file:///home/u/.mpi-hosts-state (the backend from pulumi login (/home/u/.pulumi/credentials.json)). " +
        "`pulumi stack ls` lists the stacks there; if the stack is elsewhere, `pulumi login <url>` or set PULUMI_BACKEND_URL",
    );
    expect(saysNoSuchStack("error: no stack named 'mylab' found\n")).toBe(true);
    expect(saysNoSuchStack("error: could not connect to host2")).toBe(false);
  });
});

describe('a pulumi login record that cannot be used is an error, not "no login"', () => {
  const file = "/home/u/.pulumi/credentials.json";
  it.each([
    ["not JSON", "{not json", /^\/home\/u\/\.pulumi\/credentials\.json: not valid JSON \(at position 1\): fix or delete it/],
    [
      "not a JSON object",
      '"file:///x"',
      /credentials\.json: expected a JSON object \(pulumi login's credentials\), found a string: fix or delete/,
    ],
    ["a current backend that is not a URL string", '{"current": 7}', /credentials\.json: "current" .* is a number, expected a URL string/],
  ])("names the file and what is wrong when it is %s", (_what, text, message) => {
    expect(() => resolveBackend(PROJECT, HOME, files({ [file]: text }))).toThrow(message);
  });

  it("never quotes the file's text (it holds access tokens)", () => {
    const text = '{"accessTokens": {"https://api.pulumi.com": "pul-SECRET"}, current: 1}';
    expect(() => resolveBackend(PROJECT, HOME, files({ [file]: text }))).toThrow(/not valid JSON/);
    expect(() => resolveBackend(PROJECT, HOME, files({ [file]: text }))).not.toThrow(/SECRET/);
  });

  it("names a credentials file it cannot read (here: a directory in its place), on the real file system", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-creds-"));
    try {
      fs.mkdirSync(path.join(home, "credentials.json"));
      expect(() => resolveBackend(PROJECT, { HOME: "/nonexistent", PULUMI_HOME: home })).toThrow(
        `${path.join(home, "credentials.json")}: cannot read it (EISDIR)`,
      );
      // A missing one still means no login.
      fs.rmdirSync(path.join(home, "credentials.json"));
      expect(resolveBackend(PROJECT, { HOME: "/nonexistent", PULUMI_HOME: home }).url).toBe(`file://${PROJECT}/.pulumi-state`);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

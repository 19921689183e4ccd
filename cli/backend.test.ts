import { credentialsFile, missingStackMessage, resolveBackend, saysNoSuchStack } from "./backend";

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

  it("falls back to the checkout's .pulumi-state on a machine that never logged in, and says so", () => {
    const b = resolveBackend(PROJECT, HOME, files({ "/home/u/.pulumi/credentials.json": "{not json" }));
    expect(b.url).toBe(`file://${PROJECT}/.pulumi-state`);
    expect(b.source).toMatch(/no PULUMI_BACKEND_URL, no backend.url in Pulumi.yaml, no pulumi login/);
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

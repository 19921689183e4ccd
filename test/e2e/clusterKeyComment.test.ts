/**
 * A cluster key pair swapped into the state whose public key the facets' input schema refuses (a quote in its comment):
 * consistent, at an unchanged generation, so neither the pair check nor the hosts' anchor is what stops it. Under the
 * real engine on 1 trixie lab host:
 * 1. `pulumi up` from nothing;
 * 2. both halves replaced with an ssh-keygen pair commented `not the cluster's`: `pulumi up` fails at the ClusterKey's
 *    diff, saying the recorded key is refused by the facets' schema and the pair in the state may have been edited
 *    (bump mpi-hosts:ssh.clusterKeyRotation), before any Facet; nothing changes on the host;
 * 3. `pulumi up --target` of the clusterTrust Facet (the ClusterKey not diffed): the Facet's Check says the same of its
 *    clusterPublicKey, not that program and plugin differ;
 * 4. the way out the messages name: with a bumped rotation a refreshing `pulumi up --refresh` still refuses (its
 *    refresh diffs the recorded pair at the old rotation) and changes nothing; `pulumi up` makes a new pair, which the
 *    host takes.
 * Fails on the code before: step 2's message came from every clusterTrust Facet's Check ("The program (this checkout)
 * and the installed plugin ... must be the same code"), as does step 3's.
 *   export PULUMI_HOME=/tmp/ph-<you>; bash scripts/build-engine.sh && bash scripts/install-plugin.sh
 *   . scripts/engine-env.sh && npx jest test/e2e/clusterKeyComment.test.ts --selectProjects e2e --runInBand
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAll } from "../../components/provider/remote";
import { EngineLab, expectExit, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "xq1";
const HOST = "host1";
const SSH = "/home/mpi/.ssh";
const WATCHED = ["authorized_keys", "mpi-hosts_ed25519", "mpi-hosts_ed25519.pub", "mpi-hosts_ed25519.generation"].map((f) => `${SSH}/${f}`);
const timings = new Timings("clusterKeyComment.test.ts (1 trixie host) wall times");

interface ExportedResource {
  type: string;
  urn: string;
  outputs?: Record<string, any>;
}
type Exported = { deployment: { resources: ExportedResource[] } };

let e: EngineLab;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "xq-e2e-comment-"));
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, 1, "trixie"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await closeAll();
  await stopEngineLab(e, NAME);
  fs.rmSync(dir, { recursive: true, force: true });
});

const fingerprintOf = (publicKey: string) =>
  execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: `${publicKey}\n`, encoding: "utf8" }).split(" ")[1];
const watched = () => root(e.lab, HOST, WATCHED.map((f) => `stat -c '%a %U %n' ${f}; sha256sum <${f}`).join("; "));

describe("a swapped cluster key pair whose comment the facets' schema refuses, under the real engine on 1 trixie host", () => {
  let before = "";
  let facetUrn = "";
  let quotedFp = "";

  it("1. pulumi up from nothing", async () => {
    expectExit(await timings.time("step 1: pulumi up", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
    before = await watched();
  });

  it("2. both halves swapped (comment with a quote): pulumi up fails at the ClusterKey, naming the state, before any Facet", async () => {
    const out = await pulumi(e, ["stack", "export", "--show-secrets"]);
    expectExit(out, 0);
    const state = JSON.parse(out.stdout) as Exported;
    facetUrn = state.deployment.resources.find((r) => r.urn.endsWith(`::${HOST}-clusterTrust`))!.urn;
    const file = path.join(dir, "k");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "not the cluster's", "-f", file]);
    const publicKey = fs.readFileSync(`${file}.pub`, "utf8").trim();
    quotedFp = fingerprintOf(publicKey);
    const key = state.deployment.resources.find((r) => r.type === "mpi-hosts:index:ClusterKey")!;
    key.outputs!.publicKey = publicKey;
    key.outputs!.privateKey.plaintext = JSON.stringify(fs.readFileSync(file, "utf8"));
    const stateFile = path.join(dir, "state.json");
    fs.writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
    try {
      expectExit(await pulumi(e, ["stack", "import", "--file", stateFile]), 0);
    } finally {
      fs.rmSync(stateFile);
    }
    const up = await timings.time("step 2: pulumi up (quoted pair)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, "non-zero");
    const text = up.stdout + up.stderr;
    expect(text).toContain(
      `diff (the recorded pair): the cluster's publicKey (${quotedFp}, comment "not the cluster's") is refused by the facets' input schema`,
    );
    expect(text).toContain(
      "the pair in the state may have been edited. Bump mpi-hosts:ssh.clusterKeyRotation and run `pulumi up` without --refresh to make a new pair",
    );
    expect(text).not.toMatch(/must be the same code/);
    expect(text).not.toMatch(/mpi-hosts:index:Facet \(host\d-\w+\):\n\s+error/);
    expect(await watched()).toBe(before);
  });

  it("3. pulumi up --target of the clusterTrust Facet: its Check says where the key came from, not a program/plugin mismatch", async () => {
    const up = await timings.time("step 3: pulumi up --target clusterTrust", () =>
      pulumi(e, ["up", "--yes", "--skip-preview", "--target", facetUrn]),
    );
    expectExit(up, "non-zero");
    const text = up.stdout + up.stderr;
    expect(text).toContain(
      `${HOST}: clusterTrust: check of its clusterPublicKey (the ClusterKey resource's recorded public key); nothing was run: the cluster's publicKey (${quotedFp}, comment "not the cluster's")`,
    );
    expect(text).not.toMatch(/must be the same code/);
    expect(await watched()).toBe(before);
  });

  it("4. the way out: a bumped rotation; up --refresh still refuses, changing nothing; pulumi up makes a new pair, which the host takes", async () => {
    expectExit(await pulumi(e, ["config", "set", "--path", "mpi-hosts:ssh.clusterKeyRotation", "2"]), 0);
    const refreshing = await timings.time("step 4: pulumi up --refresh (rotation 2)", () =>
      pulumi(e, ["up", "--yes", "--skip-preview", "--refresh"]),
    );
    expectExit(refreshing, "non-zero");
    expect(refreshing.stdout + refreshing.stderr).toContain("run `pulumi up` without --refresh to make a new pair");
    expect(await watched()).toBe(before);
    expectExit(await timings.time("step 4: pulumi up (rotation 2)", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
    const held = fingerprintOf(await root(e.lab, HOST, `cat ${SSH}/mpi-hosts_ed25519.pub`));
    expect(held).not.toBe(quotedFp);
    expect(await root(e.lab, HOST, `cat ${SSH}/mpi-hosts_ed25519.generation`)).toContain(`generation=2\nkey=${held}\n`);
  });
});

/**
 * Issue 15, item 3 ("the state is a way to root"), without a host: the provider plugin's handlers on Facet records as
 * a state holds them, with the SSH layer replaced by a recorder of every script it is handed (text, sudo, environment,
 * step). What runs must be what the installed code renders from inputs its schemas accept, never text, privileges,
 * time limits or environment names taken from a state; a record mpi-hosts would not write is refused before anything
 * runs. The records are those MpiHost declares for real stacks: Pulumi.example.yaml (macOS and Linux, conda, firewalls
 * incl. `auto`) and test/fixtures/Pulumi.linux-system.yaml (distribution packages). On real hosts and the real
 * engine: test/e2e/stateScripts.test.ts.
 *
 * Before format 2 (commit e0253c1) every test here fails: read ran the packed `scripts`/`hostProbes` of the state,
 * with their `privileged`, delete ran its `scripts.remove` with the recorded `secretEnv`, Check took anything, and
 * Diff decompressed `scripts` (and threw on a blob that is not brotli).
 */
import { loadClusterOrThrow, readStackFile } from "../../components/config/load";
import { Cluster, Host } from "../../components/config/types";
import { probeInputsOf, renderFromInputs, scriptsDigest } from "../../components/facets/facet";
import { AnyFacetDefinition, definitionOf, facetsOf } from "../../components/facets/index";
import { renderScripts } from "../../components/facets/scripts";
import { DeclaredInputs, facetRecord, FacetInputs } from "../../components/provider/facetRecord";
import { handlers, Props, secret, UNKNOWN } from "../../components/provider/plugin/handlers";
import { Connection, RunResult } from "../../components/provider/remote";
import { hostConnection } from "../../components/provider/hostConnection";
import { HOSTILE_VALUES } from "../support/hostileValues";
import { legacyRecord, packHostProbes, packScripts } from "../support/legacyState";

interface Ran {
  script: string;
  sudo: boolean;
  env?: Record<string, string>;
  step: string;
  timeoutSeconds?: number;
  lock?: unknown;
}
/** Every script the SSH layer was handed, in order. */
const ran: Ran[] = [];
jest.mock("../../components/provider/remote", () => {
  const actual = jest.requireActual("../../components/provider/remote");
  const answer = (step: string): RunResult =>
    step.endsWith(" apply")
      ? { code: 0, stdout: "", stderr: "" }
      : // A converged host: the desired state the test put in mockDesired (a read needs none: it records what it finds).
        { code: 0, stdout: `${JSON.stringify(mockDesired[step.split(" ")[0]] ?? { probe: 1 })}\n`, stderr: "" };
  return {
    ...actual,
    runParts: jest.fn(
      async (_conn: Connection, parts: Ran[], timeoutSeconds: number, options?: { lock?: unknown }): Promise<RunResult[]> => {
        ran.push(
          ...parts.map((p) => ({ script: p.script, sudo: p.sudo === true, env: p.env, step: p.step, timeoutSeconds, lock: options?.lock })),
        );
        return parts.map((p) => answer(p.step));
      },
    ),
    runScript: jest.fn(async (_conn: Connection, script: string, o: Omit<Ran, "script">): Promise<RunResult> => {
      ran.push({ script, sudo: o.sudo === true, env: o.env, step: o.step, timeoutSeconds: o.timeoutSeconds, lock: o.lock });
      return answer(o.step);
    }),
  };
});
/** The probe output of a converged facet, by facet name (`_b64` fields, as the probes print them). */
const mockDesired: Record<string, Record<string, string>> = {};

const URN = (host: string, facet: string) =>
  `urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost$mpi-hosts:index:Facet::${host}-${facet}`;
const CLUSTER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockMockMockMockMockMockMockMockMockMock mpi-hosts cluster lab";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n";

const clusters: Array<[string, Cluster]> = [
  ["Pulumi.example.yaml", loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster],
  ["test/fixtures/Pulumi.linux-system.yaml", loadClusterOrThrow(readStackFile("test/fixtures/Pulumi.linux-system.yaml")).cluster],
];
/** One macOS host, one Linux host with firewallBackend auto (linux1), one on distribution packages (node1). */
const HOSTS: Array<[string, string]> = [
  ["Pulumi.example.yaml", "mac1"],
  ["Pulumi.example.yaml", "linux1"],
  ["test/fixtures/Pulumi.linux-system.yaml", "node1"],
];

/** Every facet record of the host, as MpiHost declares them (outputs: with a lastApply and appliedAt, as recorded). */
function recordsOf(file: string, hostName: string): Props[] {
  const cluster = clusters.find(([f]) => f === file)![1];
  const host = cluster.hosts.find((h) => h.name === hostName) as Host;
  const declared = facetsOf(cluster, host).map((definition) => ({
    definition,
    inputs: definition.inputs({ cluster, host, clusterPublicKey: CLUSTER_KEY }) as DeclaredInputs,
  }));
  const connection: Connection = hostConnection(cluster, host);
  return declared.map((d) => {
    const record: FacetInputs = facetRecord({
      ...d,
      host: declared,
      connection,
      secretEnv: Object.fromEntries(d.definition.secretEnv.map((n) => [n, PRIVATE_KEY])),
    });
    return { ...record, lastApply: "no change", appliedAt: "2026-12-01T00:00:00.000Z" } as unknown as Props;
  });
}

const defOf = (record: Props): AnyFacetDefinition => definitionOf(record.facet as string)!;
const render = (record: Props) => renderFromInputs(defOf(record), record.inputs as DeclaredInputs);

/** Runs `op` expecting a refusal; returns its message, and checks that nothing reached the SSH layer. */
async function refused(op: () => Promise<unknown>): Promise<string> {
  ran.length = 0;
  const error = await op().then(
    () => undefined,
    (e: Error) => e,
  );
  expect(ran).toEqual([]);
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

const read = (r: Props) => handlers.read(URN(r.host as string, r.facet as string), `${r.host}/${r.facet}`, r);
const del = (r: Props) => handlers.delete(URN(r.host as string, r.facet as string), `${r.host}/${r.facet}`, r);

beforeEach(() => {
  ran.length = 0;
});

describe.each(HOSTS)("%s %s", (file, hostName) => {
  const records = recordsOf(file, hostName);

  it("U1 read runs the probes the installed code renders from the recorded inputs, with the definitions' sudo; recorded scripts are refused", async () => {
    for (const record of records) {
      const pwned = { probe: "touch /tmp/pwned", apply: "touch /tmp/pwned", remove: "touch /tmp/pwned" };
      const tampered = {
        ...record,
        scripts: packScripts(pwned),
        hostProbes: packHostProbes({ [record.facet as string]: { script: pwned.probe, privileged: true } }),
      };
      expect(await refused(() => read(tampered))).toMatch(
        new RegExp(
          `^${hostName}: ${record.facet}: the state's record holds \`"scripts"\`, \`"hostProbes"\`, which mpi-hosts does not write`,
        ),
      );
    }
    // A clean record: the first read runs every probe of the host, each rendered from hostFacets, nothing else.
    ran.length = 0;
    await read(records[0]);
    const expected = Object.entries(records[0].hostFacets as Record<string, DeclaredInputs>).map(([facet, inputs]) => {
      const definition = definitionOf(facet)!;
      return { script: renderFromInputs(definition, inputs).scripts.probe, sudo: definition.probePrivileged, step: `${facet} probe` };
    });
    expect(ran.map(({ script, sudo, step }) => ({ script, sudo, step }))).toEqual(expected);
    expect(ran.every((r) => r.env === undefined)).toBe(true);
  });

  it("U2 delete runs the rendered remove with the definition's sudo and time limit, holding the host lock, and no environment", async () => {
    for (const record of records) {
      ran.length = 0;
      await del(record);
      const r = render(record);
      expect(ran).toEqual([
        {
          script: r.scripts.remove,
          sudo: r.privileged,
          env: undefined,
          step: `${record.facet} remove`,
          timeoutSeconds: r.timeoutSeconds,
          lock: expect.anything(),
        },
      ]);
    }
    const trust = records.find((r) => r.facet === "clusterTrust")!;
    expect(trust.secretEnv).toEqual({ MPI_HOSTS_CLUSTER_KEY: PRIVATE_KEY }); // recorded, and still not sent
    // A recorded privilege is no field of a record: refused, not obeyed.
    const user = records.find((r) => r.facet === "hostfile")!;
    expect(await refused(() => del({ ...user, privileged: true }))).toMatch(/the state's record holds `"privileged"`/);
  });

  it("U3 a recorded secretEnv name that is no name the definition declares (a shell command in it) is refused on delete and read", async () => {
    for (const record of records) {
      const env = { ...(record.secretEnv as Record<string, string>), "A=1; touch /tmp/pwned-env; B": "v" };
      const message = `${hostName}: ${record.facet}: the state's secretEnv names "A=1; touch /tmp/pwned-env; B", which ${record.facet} does not declare`;
      expect(await refused(() => del({ ...record, secretEnv: env }))).toContain(message);
      expect(await refused(() => read({ ...record, secretEnv: env }))).toContain(message);
    }
  });

  it("U4 hostFacets: an unknown facet, an entry its schema refuses, an own entry that is not the own inputs' probe inputs, another host: refused", async () => {
    const record = records.find((r) => r.facet === "hostfile")!;
    const hf = record.hostFacets as Record<string, DeclaredInputs>;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...hf, evil: { host: hostName } }, /the state's hostFacets has the key "evil", which is no facet of mpi-hosts/],
      [{ ...hf, sshConfig: { ...hf.sshConfig, privileged: true } }, /the state's hostFacets.sshConfig has the key "privileged"/],
      [
        { ...hf, hostfile: { ...hf.hostfile, hosts: [{ name: hostName, slots: 99 }] } },
        /hostFacets.hostfile is .*: it must be the probe inputs of the facet's own inputs/,
      ],
      [{ ...hf, sshConfig: { ...hf.sshConfig, host: "other" } }, /hostFacets.sshConfig.host is "other", not the facet's host/],
      [
        { ...hf, sshConfig: { ...hf.sshConfig, connectTimeout: "10; id" } },
        /hostFacets.sshConfig.connectTimeout is "10; id": it must be integer/,
      ],
    ];
    for (const [hostFacets, message] of cases) {
      expect(await refused(() => read({ ...record, hostFacets }))).toMatch(message);
      expect(await refused(() => del({ ...record, hostFacets }))).toMatch(message);
    }
  });

  it("U5 a hostile value in any string the scripts are rendered from (inputs, hostFacets, connection) is refused on read and delete, naming it", async () => {
    const hostile = [...HOSTILE_VALUES, "\n", "x".repeat(5000)];
    // What the schema admits by design: values for messages only (where host keys came from, which line revoked a
    // key), never rendered; and extraMca values, which the config allows too (one line each) and which reach a file
    // of Open MPI's, quoted, from apply only (rendered from the program's inputs).
    const admitted = /^connection\.(hostKeysFrom|revokedKeys\[\d+\]\.where|jump\.hostKeysFrom)$|^inputs\.extraMca\./;
    let checked = 0;
    for (const record of records) {
      for (const [root, value] of [
        ["inputs", record.inputs],
        ["connection", record.connection],
        ...Object.entries(record.hostFacets as Props).map(([f, v]) => [`hostFacets.${f}`, v]),
      ] as Array<[string, unknown]>) {
        for (const [path, set] of stringLeaves(value, root)) {
          if (admitted.test(path)) continue;
          for (const h of hostile) {
            const tampered = structuredClone(record);
            set(tampered, h);
            const prefix = `${hostName}: ${record.facet}: the state's `;
            const readMessage = await refused(() => read(tampered)).catch((e: Error) => {
              throw new Error(`${path} = ${JSON.stringify(h)}: ${e.message.slice(0, 300)}`);
            });
            expect(readMessage.startsWith(prefix)).toBe(true);
            expect(await refused(() => del(tampered))).toBe(readMessage);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("U6 a format-1 record (scripts in the state) is refused on read and delete with one sentence per host, and rewritten by an update from the program's inputs", async () => {
    const all = recordsOf(file, hostName);
    const rendered = all.map(render);
    const legacy = all.map((r, i) => legacyRecord(r, rendered[i], rendered) as Props);
    const readMessages = new Set<string>();
    for (const old of legacy) readMessages.add(await refused(() => read(old)));
    expect([...readMessages]).toEqual([
      `${hostName}: the state of its facets was written by mpi-hosts before state format 2: it holds their scripts, which mpi-hosts no longer runs from a state (docs/security.md, issue 15). Run \`pulumi up\` once (without --refresh): it rewrites every facet without scripts; the applies find nothing to do, except clusterTrust's, which records the cluster key's generation on the host. Then refresh, drift or destroy.`,
    ]);
    for (const old of legacy)
      expect(await refused(() => del(old))).toMatch(
        /put it back for that one `pulumi up`; or drop its resources with `pulumi state delete URN`/,
      );
    for (const [i, old] of legacy.entries()) {
      const news: Props = { ...all[i], secretEnv: secret(all[i].secretEnv) };
      const { lastApply: _l, appliedAt: _a, ...inputs } = news;
      expect(await handlers.diff(URN(hostName, old.facet as string), "id", old, inputs)).toEqual({
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
        diffs: ["format"],
      });
      mockDesired[old.facet as string] = probeOutput(rendered[i].desired as Record<string, unknown>);
      ran.length = 0;
      const outs = await handlers.update(URN(hostName, old.facet as string), "id", old, inputs);
      expect(ran.map((r) => r.script)).toEqual([rendered[i].scripts.apply, rendered[i].scripts.probe]);
      expect(outs).not.toHaveProperty("scripts");
      expect(outs).toMatchObject({ format: 2, scriptsDigest: scriptsDigest(rendered[i]) });
    }
  });

  it("U7 Check refuses a program whose render differs from the plugin's, or whose inputs fail their schema; inputs still unknown pass", async () => {
    for (const record of records) {
      const { lastApply: _l, appliedAt: _a, ...news }: Props = { ...record, secretEnv: secret(record.secretEnv) };
      const urn = URN(hostName, record.facet as string);
      expect(await handlers.check(urn, news)).toEqual(news);
      await expect(handlers.check(urn, { ...news, scriptsDigest: `sha256:${"0".repeat(64)}` })).rejects.toThrow(
        /the program \(the checkout of this run\) and the installed plugin \(pulumi-resource-mpi-hosts, runs .*\) render different scripts \(scriptsDigest differ\); run scripts\/install-plugin.sh in this checkout/,
      );
      await expect(handlers.check(urn, { ...news, state: { other: "x" } })).rejects.toThrow(
        /render different scripts \(desired state differ\)/,
      );
      await expect(handlers.check(urn, { ...news, inputs: { ...(news.inputs as Props), host: "a;b" } })).rejects.toThrow(
        new RegExp(`^${hostName}: ${record.facet}: the program's inputs.host is "a;b"`),
      );
      const pending = { ...news, inputs: UNKNOWN, scriptsDigest: UNKNOWN, state: UNKNOWN };
      expect(await handlers.check(urn, pending)).toEqual(pending);
    }
  });

  it("U8 diff decodes nothing and refuses nothing: a scriptsDigest change alone, readable inputs, foreign keys and a record that is not even valid are all a change", async () => {
    const record = records.find((r) => r.facet === "hostfile")!;
    const urn = URN(hostName, "hostfile");
    const { lastApply: _l, appliedAt: _a, ...news } = record;
    expect(await handlers.diff(urn, "id", record, news)).toMatchObject({ changes: false });
    expect(await handlers.diff(urn, "id", { ...record, scriptsDigest: `sha256:${"1".repeat(64)}` }, news)).toMatchObject({
      changes: true,
      diffs: ["scriptsDigest"],
    });
    const otherInputs = { ...record, inputs: { ...(record.inputs as Props), hosts: [{ name: hostName, slots: 99 }] } };
    expect(await handlers.diff(urn, "id", otherInputs, news)).toMatchObject({ changes: true, diffs: ["inputs"] });
    // Not brotli, not base64: today's code decompressed olds.scripts here and threw.
    const junk = { ...record, scripts: "brotli+base64:!!!not a packed script!!!", hostProbes: 42 };
    expect(await handlers.diff(urn, "id", junk, news)).toMatchObject({ changes: true, diffs: ["scripts", "hostProbes"] });
    expect(await handlers.diff(urn, "id", { ...record, connection: "nonsense", inputs: null }, news)).toMatchObject({ changes: true });
    expect(ran).toEqual([]);
  });
});

it("U9 probeInputs render the same probe as the full inputs, and every facet's inputs pass its schema, for every host of both stacks", () => {
  const { schemaProblem } = jest.requireActual(
    "../../components/facets/inputSchemas",
  ) as typeof import("../../components/facets/inputSchemas");
  let pairs = 0;
  for (const [, cluster] of clusters) {
    for (const host of cluster.hosts) {
      for (const definition of facetsOf(cluster, host)) {
        const inputs = JSON.parse(JSON.stringify(definition.inputs({ cluster, host, clusterPublicKey: CLUSTER_KEY })));
        expect(schemaProblem(definition.inputSchema, inputs, "inputs")).toBeUndefined();
        const reduced = JSON.parse(JSON.stringify(probeInputsOf(definition, inputs)));
        expect(schemaProblem(definition.inputSchema, reduced, "inputs")).toBeUndefined();
        expect(renderFromInputs(definition, reduced).scripts.probe).toBe(renderFromInputs(definition, inputs).scripts.probe);
        pairs++;
      }
    }
  }
  expect(pairs).toBeGreaterThan(20);
});

it("U10 no script is rendered for a host name that is not a hostLabel (the header names it unquoted, in a comment)", () => {
  expect(() => renderScripts("hostfile", "h1\ntouch /tmp/x #", "hostfile", { content: "" })).toThrow(
    /not a host name \(a hostLabel\): no script rendered/,
  );
  expect(() => renderScripts("hostfile", "h1", "hostfile\nid", { content: "" })).toThrow(/not a facet name/);
  expect(renderScripts("hostfile", "h1", "hostfile", { content: "" }).probe).toContain("for host h1:");
});

/** What a converged host's probe prints for a desired state (strings as `_b64`, as the probes print them). */
function probeOutput(desired: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(desired).map(([k, v]) => (typeof v === "string" ? [`${k}_b64`, Buffer.from(v).toString("base64")] : [k, v as string])),
  );
}

/** Every string leaf under `value`, by path (`inputs.hosts[0].name`), with a setter on a copy of the whole record. */
function stringLeaves(value: unknown, root: string): Array<[string, (record: Props, v: string) => void]> {
  const out: Array<[string, (record: Props, v: string) => void]> = [];
  const rootKeys = root.split(".");
  const walk = (v: unknown, path: string, keys: Array<string | number>) => {
    if (typeof v === "string") {
      out.push([
        path,
        (record, s) => {
          let target = record as unknown as Record<string | number, unknown>;
          const all = [...rootKeys, ...keys];
          for (const k of all.slice(0, -1)) target = target[k] as Record<string | number, unknown>;
          target[all[all.length - 1]] = s;
        },
      ]);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, [...keys, i]));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, [...keys, k]);
  };
  walk(value, root, []);
  return out;
}

it("U11 hostFacets, and every facet's inputs but clusterTrust's, do not depend on the cluster key (a rotation updates clusterTrust alone)", () => {
  for (const [, cluster] of clusters) {
    for (const host of cluster.hosts) {
      const declared = (clusterPublicKey: string) =>
        facetsOf(cluster, host).map((definition) => {
          const inputs = JSON.parse(JSON.stringify(definition.inputs({ cluster, host, clusterPublicKey })));
          return { name: definition.name, inputs, probeInputs: probeInputsOf(definition, inputs) };
        });
      const [a, b] = [declared(CLUSTER_KEY), declared("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAnotherKey mpi-hosts cluster lab")];
      expect(b.map((f) => f.probeInputs)).toEqual(a.map((f) => f.probeInputs));
      expect(b.filter((f) => f.name !== "clusterTrust")).toEqual(a.filter((f) => f.name !== "clusterTrust"));
      expect(b.find((f) => f.name === "clusterTrust")!.inputs).not.toEqual(a.find((f) => f.name === "clusterTrust")!.inputs);
    }
  }
});

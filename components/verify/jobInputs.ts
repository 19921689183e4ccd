/**
 * The verification job's declared inputs (mpi-hosts:index:VerificationJob): what the program sends, what the state
 * records, and what the provider plugin checks before it renders the job's script with its own code
 * (renderVerifyScript). Plain JSON, no script, no command, no key: the part of the cluster config the plan reads
 * (planVerification), the head host's connection as the facets' (remote.ts Connection, without a login), the
 * fingerprint and every facet's appliedAt (what re-runs the job).
 */
import Ajv2020 from "ajv/dist/2020";
import clusterSchema from "../../schemas/cluster.schema.json";
import facetInputsSchema from "../../schemas/facetInputs.schema.json";
import { Cluster, Host, PortRange } from "../config/types";
import { hostConnection } from "../provider/hostConnection";
import type { Connection } from "../provider/remote";

/** What planVerification reads of the cluster, and nothing else. */
export interface JobCluster {
  hosts: Array<Pick<Host, "name" | "address" | "port" | "user" | "slots" | "pythonPrefix" | "os">>;
  python: { kind: Cluster["python"]["kind"] };
  mpi: { btlPorts: PortRange; oobPorts: PortRange; oobEphemeral: boolean };
  verify: Pick<Cluster["verify"], "from" | "tests" | "timeoutSeconds">;
  ssh: Pick<Cluster["ssh"], "connectTimeoutSeconds">;
}

/** The head host as the plugin reaches it: the facets' Connection without `login` (the plugin's own, never the state's). */
export type JobConnection = Omit<Connection, "login">;

export interface VerificationJobInputs {
  cluster: JobCluster;
  connection: JobConnection;
  /** verificationFingerprint: every host's desired state and the script. */
  fingerprint: string;
  /** When each facet's apply last ran, by "host/facet"; a facet whose state predates the stamp has none. */
  appliedAt: Record<string, string | undefined>;
}

export interface VerificationJobOutputs extends VerificationJobInputs {
  /** The job's stdout: its JSON report, one line (verificationReport reads it). */
  stdout: string;
  /** When this run ended (ISO time). */
  ranAt: string;
}

/** The properties of a job's record, inputs then outputs: anything else in a state is foreign and dropped. */
export const JOB_INPUT_KEYS = ["cluster", "connection", "fingerprint", "appliedAt"] as const;
export const JOB_OUTPUT_KEYS = [...JOB_INPUT_KEYS, "stdout", "ranAt"] as const;

/** The job's inputs from a loaded cluster (the program). */
export function jobInputsOf(cluster: Cluster, fingerprint: string, appliedAt: Record<string, string | undefined>): VerificationJobInputs {
  return { cluster: jobClusterOf(cluster), connection: jobConnectionOf(cluster), fingerprint, appliedAt };
}

export function jobClusterOf(cluster: Cluster): JobCluster {
  return {
    hosts: cluster.hosts.map(({ name, address, port, user, slots, pythonPrefix, os }) => ({
      name,
      address,
      port,
      user,
      slots,
      pythonPrefix,
      os,
    })),
    python: { kind: cluster.python.kind },
    mpi: {
      btlPorts: { first: cluster.mpi.btlPorts.first, last: cluster.mpi.btlPorts.last },
      oobPorts: { first: cluster.mpi.oobPorts.first, last: cluster.mpi.oobPorts.last },
      oobEphemeral: cluster.mpi.oobEphemeral,
    },
    verify: { from: cluster.verify.from, tests: [...cluster.verify.tests], timeoutSeconds: cluster.verify.timeoutSeconds },
    ssh: { connectTimeoutSeconds: cluster.ssh.connectTimeoutSeconds },
  };
}

/** The head host's connection (as headConnection in ./run, without a login). */
export function jobConnectionOf(cluster: Cluster): JobConnection {
  return hostConnection(
    cluster,
    cluster.hosts.find((h) => h.name === cluster.verify.from)!,
  );
}

/**
 * The Cluster that planVerification and renderVerifyScript take, from validated job inputs: only the fields they
 * read are there (jobInputs.test.ts renders the example clusters both ways and compares the scripts, so a plan that
 * starts reading another field fails there, not on a host).
 */
export function clusterOfJob(inputs: Pick<VerificationJobInputs, "cluster">): Cluster {
  return inputs.cluster as unknown as Cluster;
}

const defs = clusterSchema.$defs;
/** A line for messages only (where a key came from): never a newline. */
const oneLine = { type: "string", maxLength: 1024, pattern: "^[^\\n\\r]*$" };
/**
 * A host key as the connection carries it ("type base64", no comment), as the facets' records take it: any type
 * known_hosts may list (the loader keeps them all), so a head host with, say, an sk- key is not refused here alone.
 */
const hostKey = facetInputsSchema.$defs.hostKeyBlob;
const hostKeys = { type: "array", minItems: 1, items: hostKey };
const revokedKeys = {
  type: "array",
  items: { type: "object", additionalProperties: false, required: ["key", "where"], properties: { key: hostKey, where: oneLine } },
};
const portRange = {
  type: "object",
  additionalProperties: false,
  required: ["first", "last"],
  properties: { first: { $ref: "#/$defs/tcpPort" }, last: { $ref: "#/$defs/tcpPort" } },
};
const reached = {
  name: { $ref: "#/$defs/address" },
  address: { $ref: "#/$defs/address" },
  port: { $ref: "#/$defs/tcpPort" },
  user: { $ref: "#/$defs/unixUser" },
  hostKeys,
  revokedKeys,
  hostKeysFrom: oneLine,
};

const JOB_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: [...JOB_INPUT_KEYS],
  properties: {
    cluster: {
      type: "object",
      additionalProperties: false,
      required: ["hosts", "python", "mpi", "verify", "ssh"],
      properties: {
        hosts: {
          type: "array",
          minItems: 1,
          maxItems: 4096,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["name", "address", "port", "user", "slots", "pythonPrefix", "os"],
            properties: {
              name: { $ref: "#/$defs/hostLabel" },
              address: { $ref: "#/$defs/address" },
              port: { $ref: "#/$defs/tcpPort" },
              user: { $ref: "#/$defs/unixUser" },
              slots: { type: "integer", minimum: 1, maximum: 4096 },
              pythonPrefix: { $ref: "#/$defs/absPath" },
              os: { $ref: "#/$defs/os" },
            },
          },
        },
        python: { type: "object", additionalProperties: false, required: ["kind"], properties: { kind: { $ref: "#/$defs/pythonKind" } } },
        mpi: {
          type: "object",
          additionalProperties: false,
          required: ["btlPorts", "oobPorts", "oobEphemeral"],
          properties: { btlPorts: portRange, oobPorts: portRange, oobEphemeral: { type: "boolean" } },
        },
        verify: {
          type: "object",
          additionalProperties: false,
          required: ["from", "tests", "timeoutSeconds"],
          properties: {
            from: { $ref: "#/$defs/hostLabel" },
            tests: { type: "array", minItems: 1, uniqueItems: true, items: { $ref: "#/$defs/verifyTest" } },
            timeoutSeconds: { type: "integer", minimum: 5, maximum: 3600 },
          },
        },
        ssh: {
          type: "object",
          additionalProperties: false,
          required: ["connectTimeoutSeconds"],
          properties: { connectTimeoutSeconds: { type: "integer", minimum: 1, maximum: 300 } },
        },
      },
    },
    connection: {
      type: "object",
      additionalProperties: false,
      required: ["name", "address", "port", "user", "hostKeys", "connectTimeoutSeconds"],
      properties: {
        ...reached,
        name: { $ref: "#/$defs/hostLabel" },
        connectTimeoutSeconds: { type: "integer", minimum: 1, maximum: 300 },
        jump: {
          type: "object",
          additionalProperties: false,
          required: ["name", "address", "port", "user", "hostKeys"],
          properties: reached,
        },
      },
    },
    fingerprint: { type: "string", pattern: "^[0-9a-f]{64}$" },
    appliedAt: {
      type: "object",
      maxProperties: 65536,
      propertyNames: { pattern: "^[A-Za-z0-9-]{1,63}/[A-Za-z]{1,32}$" },
      additionalProperties: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$" },
    },
  },
  $defs: {
    hostLabel: defs.hostLabel,
    address: defs.address,
    unixUser: defs.unixUser,
    tcpPort: defs.tcpPort,
    absPath: defs.absPath,
    os: defs.os,
    pythonKind: defs.pythonKind,
    verifyTest: defs.verifyTest,
  },
};

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validateJob = ajv.compile(JOB_SCHEMA);
const validatePartialJob = ajv.compile({ ...JOB_SCHEMA, required: [] });

/**
 * Why these are not a verification job's inputs (empty: they are). `known` names the top-level inputs to check (a
 * preview's Check gets an unknown appliedAt for a facet that will apply): the rest must be absent.
 */
export function jobInputProblems(inputs: unknown, known: readonly string[] = JOB_INPUT_KEYS): string[] {
  const partial = known.length < JOB_INPUT_KEYS.length;
  const validate = partial ? validatePartialJob : validateJob;
  if (!validate(inputs)) {
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath || "(inputs)"} ${e.message ?? "is invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`,
    );
  }
  const job = inputs as Partial<VerificationJobInputs>;
  const problems: string[] = [];
  if (job.cluster) {
    const names = job.cluster.hosts.map((h) => h.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length) problems.push(`/cluster/hosts names ${twice.join(", ")} more than once`);
    if (!names.includes(job.cluster.verify.from))
      problems.push(`/cluster/verify/from ${job.cluster.verify.from} is not one of the hosts (${names.join(", ")})`);
    for (const [label, range] of Object.entries({ btlPorts: job.cluster.mpi.btlPorts, oobPorts: job.cluster.mpi.oobPorts })) {
      if (range.first > range.last) problems.push(`/cluster/mpi/${label} starts at ${range.first}, after its last port ${range.last}`);
    }
    const head = job.cluster.hosts.find((h) => h.name === job.cluster!.verify.from);
    const conn = job.connection;
    if (head && conn) {
      const differs = (["name", "address", "port", "user"] as const).filter((k) => conn[k] !== head[k]);
      if (differs.length) problems.push(`/connection ${differs.join(", ")} differ from the head host ${head.name} in /cluster/hosts`);
    }
  }
  return problems;
}

/** The inputs, checked: throws naming the job and every problem. */
export function checkedJobInputs(inputs: unknown, what: string): VerificationJobInputs {
  const problems = jobInputProblems(inputs);
  if (problems.length) {
    throw new Error(
      `${what}: the verification job's inputs are not what mpi-hosts declares (${problems.join("; ")}); nothing was run. ` +
        `Run pulumi up with a valid stack config`,
    );
  }
  return inputs as VerificationJobInputs;
}

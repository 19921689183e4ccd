/**
 * The report's fields as data, held to the types of report.ts by the compiler: a list that misses a field of the
 * type, or names one the type lacks, does not compile. So the report keeps one definition (report.ts), and the
 * JSON the job's awk writes (judge.awk, which TypeScript cannot see) is checked against it field by field
 * (judge.test.ts, on every report the judge writes, under every awk).
 */
import { Failure, HostResult, PairResult, Retry, StageResult, StageStatus, TcpResult, TcpStatus, VerifyReport } from "./report";

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
type RequiredKeys<T> = Exclude<keyof T, OptionalKeys<T>>;
/** `unknown` when Listed covers All; else a type no array matches, naming what is missing. */
type Covers<All, Listed> = [Exclude<All, Listed>] extends [never] ? unknown : { missing: Exclude<All, Listed> };

interface Shape {
  required: string[];
  optional: string[];
}

/** Every field of T, the required ones and the optional ones, each listed once. */
function shapeOf<T>() {
  return <const R extends readonly RequiredKeys<T>[], const O extends readonly OptionalKeys<T>[]>(
    required: R & Covers<RequiredKeys<T>, R[number]>,
    optional: O & Covers<OptionalKeys<T>, O[number]>,
  ): Shape => ({ required: [...required] as string[], optional: [...optional] as string[] });
}

/** Every value of a union of strings, each listed once. */
function valuesOf<T extends string>() {
  return <const V extends readonly T[]>(values: V & Covers<T, V[number]>): readonly string[] => values;
}

const REPORT = shapeOf<VerifyReport>()(
  ["version", "ok", "failedStage", "from", "at", "seconds", "summary", "stages", "ranges", "hosts", "pairs", "failures"],
  ["retries"],
);
const STAGE = shapeOf<StageResult>()(["name", "status", "seconds", "detail"], []);
const RANGE = shapeOf<VerifyReport["ranges"][number]>()(["label", "first", "last"], []);
const HOST = shapeOf<HostResult>()(
  ["name", "address", "slots", "reached", "hostname", "openmpi", "mpi4py", "python", "mpirun", "mpirunOnPath"],
  [],
);
const PAIR = shapeOf<PairResult>()(["from", "to", "ssh", "tcp"], ["latencyUs", "bandwidthMBs"]);
const TCP = shapeOf<TcpResult>()(["status", "port", "seconds", "detail"], []);
const FAILURE = shapeOf<Failure>()(
  ["stage", "kind", "from", "to", "port", "range", "expected", "detail", "message", "hint"],
  ["output", "retried"],
);
const RETRY = shapeOf<Retry>()(["stage", "from", "to", "reason", "result"], []);

const STAGE_STATUSES = valuesOf<StageStatus>()(["pass", "fail", "skip", "notrun"]);
const TCP_STATUSES = valuesOf<TcpStatus>()(["ok", "blocked", "unchecked"]);
const SSH_STATUSES = valuesOf<PairResult["ssh"]>()(["ok", "fail", "unchecked"]);
const RETRY_RESULTS = valuesOf<Retry["result"]>()(["pass", "fail", "timeout"]);

/**
 * Where a report (parsed JSON) departs from the type: a field missing or not in the type, or a status the type does
 * not allow, each as "PATH: what". Empty when it matches.
 */
export function reportShapeProblems(report: unknown): string[] {
  const problems: string[] = [];
  const fields = (at: string, value: unknown, shape: Shape): Record<string, unknown> => {
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      problems.push(`${at}: expected an object, found ${JSON.stringify(value)}`);
      return {};
    }
    const record = value as Record<string, unknown>;
    for (const k of shape.required) if (!(k in record)) problems.push(`${at}: no field ${k}`);
    for (const k of Object.keys(record))
      if (!shape.required.includes(k) && !shape.optional.includes(k)) problems.push(`${at}: field ${k} is not in the type`);
    return record;
  };
  const each = (at: string, value: unknown, check: (item: unknown, at: string) => void) => {
    if (!Array.isArray(value)) problems.push(`${at}: expected an array, found ${JSON.stringify(value)}`);
    else value.forEach((item, i) => check(item, `${at}[${i}]`));
  };
  const oneOf = (at: string, value: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(value as string)) problems.push(`${at}: ${JSON.stringify(value)} is none of ${allowed.join(", ")}`);
  };

  const r = fields("report", report, REPORT);
  each("stages", r.stages, (s, at) => oneOf(`${at}.status`, fields(at, s, STAGE).status, STAGE_STATUSES));
  each("ranges", r.ranges, (x, at) => fields(at, x, RANGE));
  each("hosts", r.hosts, (h, at) => fields(at, h, HOST));
  each("pairs", r.pairs, (p, at) => {
    const pair = fields(at, p, PAIR);
    oneOf(`${at}.ssh`, pair.ssh, SSH_STATUSES);
    const tcp = pair.tcp && typeof pair.tcp === "object" ? (pair.tcp as Record<string, unknown>) : {};
    for (const [label, t] of Object.entries(tcp))
      oneOf(`${at}.tcp.${label}.status`, fields(`${at}.tcp.${label}`, t, TCP).status, TCP_STATUSES);
  });
  each("failures", r.failures, (f, at) => fields(at, f, FAILURE));
  if ("retries" in r) each("retries", r.retries, (x, at) => oneOf(`${at}.result`, fields(at, x, RETRY).result, RETRY_RESULTS));
  return problems;
}

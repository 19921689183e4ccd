/**
 * The cluster that a CLI command (validate, render, verify) works on, read from a stack file, or
 * the one message that says why it cannot be had: no such file, not YAML, or config problems.
 */
import * as fs from "fs";
import YAML from "yaml";
import { formatProblems, loadCluster, readStackFile } from "../components/config/load";
import { PASSPHRASE_KEY, PRIVATE_KEY_KEY } from "../components/provider/credentials";
import { Cluster } from "../components/config/types";

export type StackConfig =
  { cluster: Cluster; warnings?: string; error?: undefined } | { error: string; cluster?: undefined; warnings?: undefined };

/**
 * The cluster a command works on, or undefined once it has written why there is none to stderr; warnings go to
 * stderr too unless `warnings: false`. `describeError` words the error for the command (default: as it is).
 */
export function clusterForCommand(
  file: string,
  opts: { warnings?: boolean; describeError?: (error: string) => string } = {},
): Cluster | undefined {
  const { cluster, warnings, error } = loadStackConfig(file);
  if (error !== undefined) {
    process.stderr.write(`${opts.describeError ? opts.describeError(error) : error}\n`);
    return undefined;
  }
  if (warnings && opts.warnings !== false) process.stderr.write(`${warnings}\n`);
  return cluster;
}

export function loadStackConfig(file: string): StackConfig {
  if (!fs.existsSync(file)) return { error: `${file}: no such file (a Pulumi stack config, e.g. Pulumi.example.yaml)` };
  let raw: Record<string, unknown>;
  try {
    raw = readStackFile(file);
  } catch (err) {
    return { error: `${file}: not readable as YAML (${(err as Error).message.split("\n")[0]})` };
  }
  const { cluster, problems } = loadCluster(raw);
  if (!cluster) return { error: formatProblems(problems) };
  return { cluster, warnings: problems.length ? formatProblems(problems) : undefined };
}

/**
 * The login secrets (mpi-hosts:sshPrivateKey, mpi-hosts:sshKeyPassphrase) the stack file holds encrypted: a CLI command
 * runs without the Pulumi engine and cannot decrypt them (readStackFile leaves them out), so npm run verify names them.
 */
export function encryptedLoginSecrets(file: string): string[] {
  let config: Record<string, unknown> = {};
  try {
    config = ((YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> }).config ?? {};
  } catch {
    return [];
  }
  const encrypted = (value: unknown) => typeof value === "object" && value !== null && "secure" in value;
  return [PRIVATE_KEY_KEY, PASSPHRASE_KEY].filter((key) => encrypted(config[key]));
}

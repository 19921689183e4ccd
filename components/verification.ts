/** The verification job: mpirun across every host from verify.from, re-run whenever any desired state changes. */
import { createHash } from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./config/types";
import { pythonPaths } from "./facets/python";
import { templates } from "./render/templates";

export function renderVerifyScript(cluster: Cluster): string {
  const from = cluster.hosts.find((h) => h.name === cluster.verify.from)!;
  const { python, mpirun } = pythonPaths(cluster.python.kind, from.pythonPrefix);
  return templates().render("verify/verify.sh", {
    facet: "verify",
    kind: "run",
    host: from.name,
    mpirun,
    python,
    ranks: cluster.hosts.reduce((n, h) => n + h.slots, 0),
    hostCount: cluster.hosts.length,
    timeoutSeconds: cluster.verify.timeoutSeconds,
    tests: cluster.verify.tests.join(" "),
  });
}

/** A digest of everything the job proves: any host's desired state, or the job itself. */
export function verificationFingerprint(desiredByHost: Record<string, unknown>, script: string): string {
  const canonical = JSON.stringify({ desiredByHost: sortKeys(desiredByHost), script });
  return createHash("sha256").update(canonical).digest("hex");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

export function verificationJob(
  name: string,
  cluster: Cluster,
  desiredByHost: pulumi.Input<Record<string, unknown>>,
  adminPrivateKey: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  const from = cluster.hosts.find((h) => h.name === cluster.verify.from)!;
  const script = renderVerifyScript(cluster);
  const fingerprint = pulumi.output(desiredByHost).apply((d) => verificationFingerprint(d, script));
  return new command.remote.Command(
    name,
    {
      connection: {
        host: from.address,
        port: from.port,
        user: from.user,
        privateKey: adminPrivateKey,
        hostKey: from.hostKey,
        dialErrorLimit: 3,
        perDialTimeout: cluster.ssh.connectTimeoutSeconds,
      },
      create: "sh -s",
      stdin: script,
      triggers: [fingerprint],
      logging: "stdoutAndStderr",
    },
    opts,
  );
}

/**
 * Every way the verification job can fail, with what it says and what to change. One table, used twice: the
 * job's report program fills these templates on the head host (so `pulumi up` prints the same words), and the
 * CLI reads the filled text back from the report. Placeholders: {from} {to} {port} {range} ("btl 50000-50099"),
 * {ports} ("50000-50099"), {expected}, {detail}, {stage}.
 */
import { HOSTFILE_PATH } from "../facets/hostfile";

/** Stages in the order the job runs them; MPI tests follow in the order the config lists them. */
export const PREFLIGHT_STAGES = ["plan", "ssh", "software", "names", "tcp"] as const;
export type PreflightStage = (typeof PREFLIGHT_STAGES)[number];

export interface FailureKind {
  /** The stage that reports it; "test" means the MPI test named by the failure's stage. */
  stage: PreflightStage | "test";
  message: string;
  hint: string;
}

const REFRESH = "run pulumi up --refresh";

export const FAILURE_KINDS = {
  "btl-too-small": {
    stage: "plan",
    message: "{to} runs {expected} ranks, but the btl range {ports} holds only {detail} (one listening port per rank)",
    hint: "each rank listens on a port of its own (Open MPI issue #7130): widen mpi-hosts:mpi.btlPorts to at least {expected} ports, or lower the slots of {to}",
  },
  "ssh-config": {
    stage: "ssh",
    message: "{from} -> {to}: the ssh config of {from} does not lead to {to} (ssh -G {to} gives {detail}, expected {expected})",
    hint: `the sshConfig facet puts Host {to} into ~/.ssh/config on {from}: ${REFRESH}, and check that no Host or Match entry above the managed block catches {to} first`,
  },
  "ssh-hostkey": {
    stage: "ssh",
    message: "{from} -> {to}: ssh would stop at a host-key prompt ({detail})",
    hint: `the pinned key of {to} is missing from ~/.ssh/mpi-hosts_known_hosts on {from} (clusterTrust facet): ${REFRESH}`,
  },
  "ssh-hostkey-changed": {
    stage: "ssh",
    message: "{from} -> {to}: {to} presents a host key other than the pinned one ({detail})",
    hint: "if {to} was reinstalled, check its new key out of band, then replace its old key where mpi-hosts takes it from (its hostKey in mpi-hosts:hosts, or its lines in your known_hosts) and run pulumi up",
  },
  "ssh-auth": {
    stage: "ssh",
    message: "{from} -> {to}: the cluster key was refused ({detail})",
    hint: `~/.ssh/authorized_keys on {to} needs the cluster key, allowed from the address of {from} (clusterTrust facet; mpi-hosts:mpi.network and firewall.allowFrom): ${REFRESH}`,
  },
  "ssh-auth-key-differs": {
    stage: "ssh",
    message: "{from} -> {to}: the cluster key was refused: {from} holds {expected}, the authorized_keys of {to} accepts {detail}",
    hint: "a cluster key rotation (mpi-hosts:ssh.clusterKeyRotation) reached one of {from} and {to} but not the other (a host that was down or failed during pulumi up): run pulumi up again, which installs the current key of the stack on the host that missed it; MPI between them fails until then",
  },
  "ssh-auth-key-refused": {
    stage: "ssh",
    message:
      "{from} -> {to}: {to} refuses the cluster key that {from} holds ({expected}); the head could not log in to {to} with it either, to read which key {to} accepts",
    hint: "{to} does not accept the current cluster key: a key rotation (mpi-hosts:ssh.clusterKeyRotation) that missed {to} (down or failed during pulumi up) leaves it so, as does a hand edit of its ~/.ssh/authorized_keys; run pulumi up again, which installs the current key of the stack on {to}; MPI between {to} and the other hosts fails until then",
  },
  "cluster-key-differs": {
    stage: "ssh",
    message: "the hosts hold different cluster keys: {detail}",
    hint: "a cluster key rotation (mpi-hosts:ssh.clusterKeyRotation) has not reached every host (one was down or failed during pulumi up): run pulumi up again, which installs the current key of the stack everywhere; until then the hosts on different keys cannot start MPI daemons on each other",
  },
  "ssh-connect": {
    stage: "ssh",
    message: "{from} -> {to}: ssh cannot connect ({detail})",
    hint: "check that sshd on {to} listens on its port in mpi-hosts:hosts and that the firewall of {to} lets {from} in on that port",
  },
  "ssh-run": {
    stage: "ssh",
    message: "{from} could not run the preflight on {to} ({detail})",
    hint: "ssh reaches {to}, but its login shell failed: look for commands in ~/.bashrc or ~/.zshenv on {to} that fail or wait for input",
  },
  "python-missing": {
    stage: "software",
    message: "{to}: no python at {expected}",
    hint: `the python facet installs it (mpi-hosts:python): ${REFRESH}`,
  },
  "mpi4py-missing": {
    stage: "software",
    message: "{to}: {expected} cannot import mpi4py",
    hint: `the python facet installs mpi4py (mpi-hosts:python.mpi4py): ${REFRESH}`,
  },
  "mpirun-missing": {
    stage: "software",
    message: "{to}: no mpirun at {expected}",
    hint: `the python facet installs Open MPI (mpi-hosts:python.openmpi): ${REFRESH}`,
  },
  "mpirun-path": {
    stage: "software",
    message: "{to}: a non-interactive ssh shell finds mpirun at {detail}, not {expected}",
    hint: `mpirun starts its daemons through that shell: the PATH block must come before the non-interactive guard of ~/.bashrc (~/.zshenv for zsh) on {to} (python facet): ${REFRESH}`,
  },
  "openmpi-differs": {
    stage: "software",
    message: "Open MPI versions differ: {detail}",
    hint: "every host must run the same Open MPI: pin mpi-hosts:python.openmpi (conda), or give every host the same OS release (system packages)",
  },
  "mpi4py-differs": {
    stage: "software",
    message: "mpi4py versions differ: {detail}",
    hint: "every host must run the same mpi4py: pin mpi-hosts:python.mpi4py (conda), or give every host the same OS release (system packages)",
  },
  "prefix-differs": {
    stage: "software",
    message: "{to}: no conda env at {expected}, the path of the env on {from} (the one of {to} is at {detail})",
    hint: "mpirun starts its daemons and python on every host by the absolute paths of the head: put the env at {expected} on {to} too (a symlink will do), or use one mpi-hosts:python.prefix everywhere",
  },
  "hostfile-missing": {
    stage: "software",
    message: `{from}: no hostfile at ~/${HOSTFILE_PATH}`,
    hint: `the hostfile facet writes it: ${REFRESH}`,
  },
  "name-unresolved": {
    stage: "names",
    message: "on {from}, the name {to} does not resolve (expected {expected})",
    hint: "MPI daemons look each other up by name: give {to} the address {expected} in /etc/hosts on {from} or in DNS",
  },
  "name-mismatch": {
    stage: "names",
    message: "on {from}, the name {to} resolves to {detail}, not its cluster address {expected}",
    hint: "fix /etc/hosts on {from} or DNS so that {to} names {expected} (Debian maps the name of a machine to 127.0.1.1 on that machine: replace that line)",
  },
  "tcp-blocked": {
    stage: "tcp",
    message: "{from} -> {to}:{port} ({range}) blocked ({detail})",
    hint: "firewall on {to} drops tcp {ports} from the network of {from}: check mpi-hosts:firewall / run pulumi up --refresh",
  },
  "tcp-blocked-alf": {
    stage: "tcp",
    message:
      "{from} -> {to}:{port} ({range}) blocked ({detail}); {to} is a Mac whose pf rules the firewall facet read back in place, so the Application Firewall still drops connections to {expected}",
    hint: "socketfilterfw --getappblocked may call {expected} permitted while the Application Firewall keys on its code signature, which changes with every conda update (its binaries are ad-hoc signed): on {to} run socketfilterfw --remove and --add for it again (or run pulumi up after such an update); if it stays blocked, turn block-all off (socketfilterfw --setblockall off) or the Application Firewall off and let pf alone filter (docs/macos.md)",
  },
  "tcp-no-port": {
    stage: "tcp",
    message: "{to}: no free port in {range} to listen on ({detail})",
    hint: "other programs hold every port of {ports} on {to} (ports of an MPI job that just ended stay taken for a minute): widen the range in mpi-hosts:mpi, or stop what holds them",
  },
  "tcp-port-outside": {
    stage: "tcp",
    message:
      "{to}: hands out ports {expected} (port {port} this time), where the runtime listens, not all inside {range} that the firewall opens",
    hint: "with oobPorts: ephemeral the runtime listens on ports the system hands out: put net.ipv4.ip_local_port_range on {to} back inside {ports} (the Linux default is 32768 60999), or set mpi-hosts:mpi.oobPorts to a fixed range",
  },
  "tcp-probe-failed": {
    stage: "tcp",
    message: "{to}: could not run {expected} for the TCP matrix ({detail})",
    hint: "the probes run the python of {to} over ssh: the tail of its error above says why; the pairs of {to} stay unchecked until it runs",
  },
  "test-failed": {
    stage: "test",
    message: "{stage}: {detail}",
    hint: "preflight passed (ssh, versions, names and ports), so mpirun itself failed: the lines of its output above say why (a rank that exited with an error, a program missing on a host)",
  },
  "test-timeout": {
    stage: "test",
    message: "{stage}: {detail}",
    hint: "preflight found every pair and port open, so something else held the ranks: a second network interface outside mpi-hosts:mpi.network, a firewall table that drops after ours, or a stopped or overloaded host",
  },
  "test-launch": {
    stage: "test",
    message: "{stage}: {detail}",
    hint: "the Open MPI runtime could not start or keep its daemons, on the retry too: another mpirun holding the runtime range on these hosts (only when mpi-hosts:mpi.oobPorts is a fixed range, or a setting the user made fixes one), a host that went away or killed a daemon, or orted/prted missing on a host (the lines of mpirun above name it)",
  },
  "pair-failed": {
    stage: "test",
    message: "{stage}: {from} <-> {to}: {detail}",
    hint: "preflight passed for {from} and {to} (ssh, versions, names and ports), so mpirun itself failed: the lines of its output above say why",
  },
  "pair-timeout": {
    stage: "test",
    message: "{stage}: {from} <-> {to}: {detail}",
    hint: "preflight found {from} and {to} open to each other, so something else held the pair: a rank or daemon stopped or starved on one of them, a second network interface outside mpi-hosts:mpi.network, a firewall table that drops after ours",
  },
  "pair-launch": {
    stage: "test",
    message: "{stage}: {from} <-> {to}: {detail}",
    hint: "the Open MPI runtime could not start or keep its daemons on {from} and {to}, on the retry too: another mpirun holding the runtime range there (only when mpi-hosts:mpi.oobPorts is a fixed range, or a setting the user made fixes one), a host that went away or killed a daemon, or orted/prted missing (the lines of mpirun above name the host)",
  },
} as const satisfies Record<string, FailureKind>;

export type FailureKindName = keyof typeof FAILURE_KINDS;

export interface FailureFields {
  from?: string;
  to?: string;
  port?: string | number;
  range?: string;
  ports?: string;
  expected?: string | number;
  detail?: string;
  stage?: string;
}

/** Fills {name} placeholders; a missing field reads "-", as in the job's records. */
export function fillTemplate(template: string, fields: FailureFields): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = (fields as Record<string, unknown>)[name];
    return value === undefined || value === "" ? "-" : String(value);
  });
}

/** The catalogue as the job's report program reads it: `hint<TAB>kind<TAB>message<TAB>hint` per kind. */
export function hintLines(): string[] {
  return Object.entries(FAILURE_KINDS).map(([kind, k]) => ["hint", kind, k.message, k.hint].join("\t"));
}

/** `npm run lab -- up|down|status|reboot`: the local lab of test hosts (see lab/lab.ts). */
import * as fs from "fs";
import { ParsedArgs } from "./args";
import { CommandGroup, CommandTable, formatCommandList, oneLineSubcommands, runnerOf } from "./command";
import { DEFAULT_FIREWALL, FIREWALL_KIND_HELP, FIREWALL_KINDS, parseFirewallKinds } from "../lab/firewallKinds";
import { isRelease, RELEASES } from "../lab/image";
import { Lab, labStatus, rebootHost, startLab, stopLab } from "../lab/lab";
import { defaultHostNames, MAX_HOSTS } from "../lab/names";
import { renderLabStack } from "../lab/stack";
import { commandLine, usageLines } from "./usage";

const HELP = {
  up: `${usageLines(
    "lab",
    "up [--hosts N] [--release trixie|bookworm] [--name NAME]",
    "[--firewall KIND|K1,K2,...|HOST=KIND,...] [--slots N] [--out FILE]",
    "[--known-hosts pinned|keyscan]",
  )}

Starts N hosts (default 3) named host1..hostN on 10.213.<lab index>.0/24, each with its own address,
hostname, /tmp, /dev/shm and firewall, sshd on port 2400 and the user mpi (passwordless sudo).
Builds the Debian image first when it is not cached (about a minute). A running lab of the same
name is stopped first.

  --hosts N        number of hosts, 1-${MAX_HOSTS} (default 3)
  --release R      trixie (Open MPI 5.0, default) or bookworm (Open MPI 4.1)
  --name NAME      lab name (default lab); several labs can run at once
  --firewall F     the firewall each host comes with: one kind for every host (default ${DEFAULT_FIREWALL}),
                   one per host in order (none,iptables,ufw), or by host (host2=ufw,host3=none; others
                   keep the default). Kinds:
${FIREWALL_KINDS.map((k) => `                     ${k.padEnd(17)}${FIREWALL_KIND_HELP[k]}`).join("\n")}
  --slots N        MPI slots per host in the stack file (default 2)
  --behind-bastion H1,H2
                   hosts this machine can reach only through a bastion (it gets no route to them; the
                   other hosts reach them as before); the stack config gives them jump: <bastion>
  --bastion H      the bastion (default: the first host not behind it)
  --known-hosts M  how the lab's known_hosts is written: pinned (default: one line per host, names and
                   address, its ed25519 key, and hostKey pins in the stack config) or keyscan (what
                   ssh-keyscan prints, every key type, rsa first, as a user fills ~/.ssh/known_hosts; the
                   stack config pins no hostKey and reads that file)
  --out FILE       stack config to write (default Pulumi.lab.yaml, or Pulumi.<name>.yaml)
`,
  down: `${usageLines("lab", "down [--name NAME]")}

Stops every host of the lab and removes its namespaces, bridge and state (keys, disks).
Does nothing when the lab does not exist.
`,
  status: `${usageLines("lab", "status [--name NAME]")}

Lists the lab's hosts, their addresses and whether each is up. Exit 1 when there is no such lab.
`,
  reboot: `${usageLines("lab", "reboot --host HOST [--name NAME]")}

Reboots one host of a running lab, as a power cycle does: its processes and every firewall rule loaded at run
time are gone; it boots from the same disk and loads its firewall the way its OS would (the lab's firewall kind,
then its enabled firewall units: nftables.service, netfilter-persistent, ufw, units an admin or mpi-hosts added;
lab/README.md, Reboots). Returns once sshd answers; the host's console.log shows what its boot ran.
`,
};

type Values = ParsedArgs["options"];

/**
 * A lab subcommand: what goes wrong in the lab (a bad --firewall, a host that does not boot) is said in one line,
 * `lab <subcommand>: <message>`, exit 1.
 */
const labCommand = oneLineSubcommands("lab", HELP, { shared: ["name"] });

const HANDLERS = {
  async up(values: Values): Promise<number> {
    const labName = str(values.name) ?? "lab";
    const hosts = positiveInt("--hosts", str(values.hosts) ?? "3");
    const slots = positiveInt("--slots", str(values.slots) ?? "2");
    const release = str(values.release) ?? "trixie";
    if (!isRelease(release)) throw new Error(`--release must be one of ${RELEASES.join(", ")}, got '${release}'`);
    const firewall = parseFirewallKinds(str(values.firewall) ?? DEFAULT_FIREWALL, defaultHostNames(hosts));
    const out = str(values.out) ?? (labName === "lab" ? "Pulumi.lab.yaml" : `Pulumi.${labName}.yaml`);
    const behindBastion = str(values["behind-bastion"])?.split(",").filter(Boolean);
    const bastion = str(values.bastion);
    const knownHosts = str(values["known-hosts"]) ?? "pinned";
    if (knownHosts !== "pinned" && knownHosts !== "keyscan") {
      throw new Error(`--known-hosts must be pinned or keyscan, got '${knownHosts}'`);
    }

    const started = Date.now();
    const lab = await startLab({
      name: labName,
      hosts,
      release,
      firewall,
      slots,
      behindBastion,
      bastion,
      knownHosts,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    fs.writeFileSync(out, renderLabStack(lab));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const first = lab.hosts[0];
    const down = commandLine("lab", labName === "lab" ? "down" : `down --name ${labName}`);
    process.stdout.write(
      [
        `lab '${lab.name}' is up in ${seconds} s: ${lab.hosts.length} hosts on ${lab.network} (this machine is ${lab.gateway} there), firewall ${lab.firewall}`,
        "",
        hostTable(lab),
        "",
        `stack config:  ${out}`,
        `ssh to a host: ssh -i ${lab.privateKeyPath} -o UserKnownHostsFile=${lab.knownHostsPath} -p ${first.port} ${first.user}@${first.address}`,
        ...behindBastionLines(lab),
        `tear down:     ${down}`,
        "",
      ].join("\n"),
    );
    return 0;
  },

  async down(values: Values): Promise<number> {
    const labName = str(values.name) ?? "lab";
    const existed = (await labStatus(labName)) !== undefined;
    const started = Date.now();
    await stopLab(labName);
    process.stdout.write(
      existed ? `lab '${labName}' is down (${((Date.now() - started) / 1000).toFixed(1)} s)\n` : `lab '${labName}': nothing to stop\n`,
    );
    return 0;
  },

  async reboot(values: Values): Promise<number> {
    const labName = str(values.name) ?? "lab";
    const host = str(values.host);
    if (!host) throw new Error("--host is required: the host to reboot (host1, host2, ...)");
    const lab = await labStatus(labName);
    if (!lab)
      throw new Error(
        `lab '${labName}' does not exist; start it with \`${commandLine("lab", labName === "lab" ? "up" : `up --name ${labName}`)}\``,
      );
    const started = Date.now();
    const h = await rebootHost(lab, host);
    process.stdout.write(
      `${h.name} rebooted (${((Date.now() - started) / 1000).toFixed(1)} s): sshd answers at ${h.address}:${h.port}; what its boot loaded: ${lab.dir}/hosts/${h.name}/console.log\n`,
    );
    return 0;
  },

  async status(values: Values): Promise<number> {
    const labName = str(values.name) ?? "lab";
    const lab = await labStatus(labName);
    if (!lab) {
      process.stderr.write(
        `lab '${labName}' does not exist; start it with \`${commandLine("lab", labName === "lab" ? "up" : `up --name ${labName}`)}\`\n`,
      );
      return 1;
    }
    const up = lab.hosts.filter((h) => h.up).length;
    process.stdout.write(
      [
        `lab '${lab.name}': ${up} of ${lab.hosts.length} hosts up on ${lab.network} (bridge ${lab.bridge}, firewall ${lab.firewall})`,
        "",
        hostTable(lab),
        "",
      ].join("\n"),
    );
    return 0;
  },
};

const DONE = "done (what it did is on stdout)";
const FAILED = "a failure (one line on stderr), or a usage error";

const subcommands: CommandTable = {
  up: {
    summary: "start a lab (replacing one of the same name) and write its Pulumi stack config",
    load: async () =>
      labCommand(
        "up",
        ["hosts", "release", "firewall", "slots", "behind-bastion", "bastion", "known-hosts", "out"],
        { 0: "the lab is up", 1: FAILED },
        HANDLERS.up,
      ),
  },
  down: {
    summary: "stop a lab and remove everything it made",
    load: async () => labCommand("down", [], { 0: DONE, 1: FAILED }, HANDLERS.down),
  },
  status: {
    summary: "list a lab's hosts and whether each is up",
    load: async () => labCommand("status", [], { 0: "the lab exists", 1: `no such lab, or ${FAILED}` }, HANDLERS.status),
  },
  reboot: {
    summary: "reboot one host: runtime firewall rules gone, then what its OS loads at boot",
    load: async () => labCommand("reboot", ["host"], { 0: "the host is back up", 1: FAILED }, HANDLERS.reboot),
  },
};

export const command: CommandGroup = {
  name: "lab",
  noun: "subcommand",
  help: `${usageLines("lab", "<up|down|status|reboot> [options]")}

Real test hosts on this machine (Linux namespaces + an overlay root + sshd on port 2400); needs root.
${formatCommandList(subcommands, 3)}

Run a subcommand with --help for its options.
`,
  subcommands,
};

export const run = runnerOf(command);

/** How to reach a host behind the lab's bastion with plain ssh (-J would not pass -i and the known_hosts file on). */
function behindBastionLines(lab: Lab): string[] {
  if (!lab.bastion) return [];
  const bastion = lab.hosts.find((h) => h.name === lab.bastion!.host)!;
  const hidden = lab.hosts.find((h) => h.name === lab.bastion!.behind[0])!;
  const options = `-i ${lab.privateKeyPath} -o UserKnownHostsFile=${lab.knownHostsPath}`;
  return [
    `behind ${bastion.name}: ${lab.bastion.behind.join(", ")} (this machine has no route to them)`,
    `  ssh ${options} -o ProxyCommand='ssh ${options} -W %h:%p -p ${bastion.port} ${bastion.user}@${bastion.address}' -p ${hidden.port} ${hidden.user}@${hidden.address}`,
  ];
}

function hostTable(lab: Lab): string {
  const rows = [["HOST", "ADDRESS", "RELEASE", "FIREWALL", "STATE", "PID", "SSH"]];
  for (const h of lab.hosts)
    rows.push([
      h.name,
      h.address,
      h.release,
      h.firewall,
      h.up ? "up" : "down",
      h.up ? String(h.pid) : "-",
      `${h.user}@${h.address}:${h.port}`,
    ]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c])).join("  ")}`.trimEnd()).join("\n");
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function positiveInt(option: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${option} must be a positive whole number, got '${text}'`);
  return Number(text);
}

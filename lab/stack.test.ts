import { parse } from "yaml";
import type { Lab } from "./lab";
import { renderLabStack } from "./stack";

const lab: Lab = {
  name: "lab",
  network: "10.213.1.0/24",
  gateway: "10.213.1.1",
  privateKeyPath: "/run/mpi-hosts/labs/lab/id_ed25519",
  knownHostsPath: "/run/mpi-hosts/labs/lab/known_hosts",
  knownHosts: "pinned",
  bridge: "mhl-lab",
  dir: "/run/mpi-hosts/labs/lab",
  firewall: "iptables",
  slots: 2,
  hosts: [1, 2].map((n) => ({
    name: `host${n}`,
    address: `10.213.1.${10 + n}`,
    port: 2400,
    user: "mpi",
    release: "trixie",
    hostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey${n}`,
    hostKeys: [`ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKey${n}`, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey${n}`],
    netns: `mhlab_lab_host${n}`,
    pid: 100 + n,
    up: true,
    firewall: "iptables" as const,
  })),
};

describe("renderLabStack", () => {
  test("writes the stack config of the lab", () => {
    expect(renderLabStack(lab)).toBe(`# Written by \`npm run lab -- up\`: the local lab of test hosts. Regenerated on every \`lab up\`.
config:
  mpi-hosts:ssh:
    user: mpi
    port: 2400
    privateKeyPath: /run/mpi-hosts/labs/lab/id_ed25519
  mpi-hosts:hosts:
    - name: host1
      address: 10.213.1.11
      os: linux
      slots: 2
      hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1
    - name: host2
      address: 10.213.1.12
      os: linux
      slots: 2
      hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey2
  mpi-hosts:python:
    kind: system
  mpi-hosts:mpi:
    network: 10.213.1.0/24
    btlPorts: 50000-50099
    oobPorts: ephemeral
  mpi-hosts:firewall:
    backend: auto
    allowFrom:
      - 10.213.1.0/24
  mpi-hosts:verify:
    from: host1
    tests: [helloworld, ringtest]
    timeoutSeconds: 60
`);
  });

  test("with known_hosts from ssh-keyscan, pins no host key and points ssh.knownHostsPath at that file", () => {
    const config = parse(renderLabStack({ ...lab, knownHosts: "keyscan" })).config;
    expect(config["mpi-hosts:ssh"].knownHostsPath).toBe("/run/mpi-hosts/labs/lab/known_hosts");
    expect(config["mpi-hosts:hosts"].map((h: Record<string, unknown>) => h.hostKey)).toEqual([undefined, undefined]);
  });

  test("quotes what YAML would otherwise misread", () => {
    const odd = { ...lab, privateKeyPath: "/tmp/labs: #1/id_ed25519", slots: 4 };
    const config = parse(renderLabStack(odd)).config;
    expect(config["mpi-hosts:ssh"].privateKeyPath).toBe("/tmp/labs: #1/id_ed25519");
    expect(config["mpi-hosts:hosts"][1].slots).toBe(4);
  });
});

import { loadClusterOrThrow, readStackFile } from "../config/load";
import { renderHost } from "../facets/index";
import { verificationFingerprint } from "./job";
import { renderVerifyScript } from "./script";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8CMOdAuu5Lm9h3jsiYNBvnpOhVLkC3AbCQyzHANlT/ mpi-hosts cluster";

function fingerprintOf(mutate: (raw: any) => void = () => undefined): string {
  const raw = readStackFile("Pulumi.example.yaml") as any;
  mutate(raw);
  const { cluster } = loadClusterOrThrow(raw);
  const desired = Object.fromEntries(
    cluster.hosts.map((h) => [h.name, Object.fromEntries(renderHost(cluster, h, KEY).map((f) => [f.facet, f.desired]))]),
  );
  return verificationFingerprint(desired, renderVerifyScript(cluster));
}

describe("the verification job's trigger", () => {
  it("stays the same when nothing changes", () => {
    expect(fingerprintOf()).toBe(fingerprintOf());
  });

  it.each([
    ["a host's slots", (raw: any) => (raw.hosts[3].slots = 13)],
    ["the BTL range", (raw: any) => (raw.mpi.btlPorts = "51000-51099")],
    ["one host's port", (raw: any) => (raw.hosts[4].port = 2401)],
    ["the mpi4py pin", (raw: any) => (raw.python.mpi4py = "4.1.*")],
    ["the verification timeout", (raw: any) => (raw.verify.timeoutSeconds = 60)],
  ])("changes with %s", (_what, mutate) => {
    expect(fingerprintOf(mutate)).not.toBe(fingerprintOf());
  });

  it("does not change with settings that no host sees", () => {
    expect(fingerprintOf((raw) => (raw.ssh.privateKeyPath = "~/.ssh/other"))).toBe(fingerprintOf());
  });
});

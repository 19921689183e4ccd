/**
 * The five firewalls of issue 13's story, one lab host each, and how tests look at them: shared by the lab test
 * (test/lab/firewallKinds.test.ts, through the facet provider) and the engine test (test/e2e/firewallKinds.test.ts).
 */
import type { FirewallKind } from "../../../lab/firewallKinds";

export const KINDS: FirewallKind[] = ["none", "iptables", "ufw", "nftables-debian", "nftables-foreign"];
export const hostOfKind = (kind: FirewallKind) => `host${KINDS.indexOf(kind) + 1}`;

/** What the host's firewall and its files look like to plain tools, counters aside. */
export const SNAPSHOT = `
echo '== nft list ruleset'; nft -s list ruleset
echo '== iptables-save'; iptables-save | sed -e '/^#/d' -e 's/\\[[0-9]*:[0-9]*\\]$/[0:0]/'
echo '== ip6tables-save'; ip6tables-save | sed -e '/^#/d' -e 's/\\[[0-9]*:[0-9]*\\]$/[0:0]/'
if command -v ufw >/dev/null; then echo '== ufw'; ufw status verbose; ufw show added; fi
for f in /etc/nftables.conf /etc/ufw/user.rules /etc/ufw/user6.rules /etc/iptables/rules.v4 /etc/iptables/rules.v6; do
  if [ -e "$f" ]; then echo "== $f"; sha256sum "$f"; fi
done
echo '== /etc/nftables.d /etc/iptables'; ls -la /etc/nftables.d /etc/iptables 2>&1 | grep -v ' \\.\\.\\?$' || true
echo '== firewall state'; ls /var/lib/mpi-hosts/firewall-* 2>/dev/null || true
`;

/** A hand deletion of one of our rules, as an admin would do it with the host's own tool. */
export const HAND_DELETION: Record<FirewallKind, string> = {
  none: `nft delete rule inet mpi_hosts input handle $(nft -a list chain inet mpi_hosts input | sed -n 's/.* accept # handle \\([0-9]*\\)$/\\1/p' | head -1)`,
  iptables: "iptables -D MPI-HOSTS 1",
  ufw: "ufw --force delete $(ufw status numbered | sed -n 's/^\\[ *\\([0-9]*\\)\\].*# mpi-hosts$/\\1/p' | head -1) >/dev/null",
  "nftables-debian": `nft delete rule inet filter input handle $(nft -a list chain inet filter input | sed -n 's/^.*jump mpi_hosts comment "mpi-hosts" # handle \\([0-9]*\\)$/\\1/p')`,
  "nftables-foreign": "nft flush chain ip guard mpi_hosts",
};

/** The backend auto picks for each kind, and where our rules live there. */
export const EXPECTED_BACKEND: Record<FirewallKind, string> = {
  none: "nftables",
  iptables: "iptables",
  ufw: "ufw",
  "nftables-debian": "nftables",
  "nftables-foreign": "nftables",
};

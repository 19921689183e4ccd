/**
 * Issue 13 review, second round: where the boot file of our chain in the tables of others (iptables, ufw, firewalld)
 * is included. A real ufw host (host2) with a hand-written `table inet filter` that drops, loaded by nftables.service:
 * on RHEL that unit loads /etc/sysconfig/nftables.conf (its unit put on this Debian host), and the include must go
 * there, not into /etc/nftables.conf, which nothing loads; a masked nftables.service with its wants link still there
 * loads nothing, and the probe must say so rather than "persistent".
 *   npx jest test/lab/firewallGuestsBoot.test.ts --selectProjects lab --runInBand
 */
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../../components/config/types";
import { RenderedFacet } from "../../components/facets/facet";
import { GUESTS_PERSIST_FILE, NFTABLES_CONF } from "../../components/facets/firewallPersistence";
import { closeAll } from "../../components/provider/remote";
import { Lab, rebootHost, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { labHost, rootOk } from "../../lab/harness/labHelpers";
import { firewallFacetOf, labCluster } from "../../lab/harness/labCluster";

jest.setTimeout(600000);

const LAB = "gq1";
const HOST = "host2";
const SYSCONFIG = "/etc/sysconfig/nftables.conf";
let lab: Lab;
let cluster: Cluster;
let facet: RenderedFacet;

const ADMIN_CONF = `#!/usr/sbin/nft -f
# Written by the admin of this host, next to ufw (mpi-hosts lab test firewallGuestsBoot).

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport PORT accept
	}
}
`;

// RHEL 9's nftables.service (from the nftables package), on this Debian host.
const RHEL_UNIT = fs.readFileSync(path.join(__dirname, "../fixtures/rhel9-nftables.service"), "utf8");

beforeAll(async () => {
  lab = await startLab({ name: LAB, hosts: 2, firewall: ["none", "ufw"] });
  const host1 = labHost(lab, "host1").address;
  cluster = labCluster(lab, { firewall: { backend: "auto", allowFrom: [`${host1}/32`] } });
  facet = firewallFacetOf(cluster, HOST);
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
});

test("RHEL's nftables.service loads /etc/sysconfig/nftables.conf: the include goes there, a reboot brings our chain back, remove gives the file back", async () => {
  const conf = ADMIN_CONF.replace("PORT", String(labHost(lab, HOST).port));
  await rootOk(
    lab,
    HOST,
    `mkdir -p /etc/sysconfig && printf '%s' "$1" >${SYSCONFIG} && cat >/etc/systemd/system/nftables.service && systemctl enable nftables.service >/dev/null 2>&1 && nft -f ${SYSCONFIG}`.replace(
      '"$1"',
      `'${conf.replace(/'/g, "'\\''")}'`,
    ),
    RHEL_UNIT,
  );
  const conn = connectionFor(lab, HOST);
  await runFacet(conn, facet, "apply");
  expect((await probe(conn, facet)).differences).toEqual([]);
  // Before: the include went into /etc/nftables.conf (Debian's, which this unit does not load) and the probe said so.
  expect(await rootOk(lab, HOST, `tail -n 3 ${SYSCONFIG}; grep -c 'BEGIN mpi-hosts' ${NFTABLES_CONF} || true`)).toBe(
    '# BEGIN mpi-hosts managed block\ninclude "/etc/mpi-hosts/[f]irewall-guests.nft"\n# END mpi-hosts managed block\n0\n',
  );
  await rebootHost(lab, HOST);
  expect(await rootOk(lab, HOST, "nft list chain inet filter input")).toContain('jump mpi_hosts comment "mpi-hosts"');
  expect((await probe(conn, facet)).differences).toEqual([]);
  await runFacet(conn, facet, "remove");
  expect(await rootOk(lab, HOST, `cat ${SYSCONFIG}; ls ${GUESTS_PERSIST_FILE} 2>&1 || true`)).toBe(
    `${conf}ls: cannot access '${GUESTS_PERSIST_FILE}': No such file or directory\n`,
  );
});

test("nftables.service masked, its wants link still there: the probe says the chain would not come back, and no include goes into a file nothing loads", async () => {
  const conf = ADMIN_CONF.replace("PORT", String(labHost(lab, HOST).port));
  await rootOk(
    lab,
    HOST,
    `rm -f /etc/systemd/system/nftables.service ${SYSCONFIG}; cat >${NFTABLES_CONF} && nft -f ${NFTABLES_CONF} && systemctl enable nftables.service >/dev/null 2>&1 && systemctl mask nftables.service >/dev/null 2>&1; ls /etc/systemd/system/*.wants/nftables.service >/dev/null && echo linked; systemctl is-enabled nftables.service || true`,
    conf,
  ).then((out) => expect(out).toBe("linked\nmasked\n"));
  const conn = connectionFor(lab, HOST);
  await runFacet(conn, facet, "apply");
  // Before: "persistent", with the include in /etc/nftables.conf, which the masked unit never loads.
  expect((await probe(conn, facet)).state.boot).toBe(
    "not persistent: our chain mpi_hosts in the nftables tables of others that drop (inet filter;) would come back at boot only through nftables.service loading a file with `nft -f`, and nftables.service is masked (systemctl is-enabled), so it loads nothing at boot; enable nftables.service with the file that makes those tables, or set firewall persist false for this host",
  );
  expect(await rootOk(lab, HOST, `grep -c 'BEGIN mpi-hosts' ${NFTABLES_CONF} || true`)).toBe("0\n");
  await runFacet(conn, facet, "remove");
  expect(await rootOk(lab, HOST, `cat ${NFTABLES_CONF}`)).toBe(conf);
});

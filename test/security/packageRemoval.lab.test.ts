/**
 * Issue 15, item 5, on a real host (1-host trixie lab, apt from a local repository made on the host): the python
 * facet's remove (kind `system`) takes away the packages its apply installed, and nothing else. `apt-get remove`
 * also removes whatever depends on them; when that would take a package of the user's, remove keeps ours (marked
 * automatically installed, so `apt-get autoremove` takes them once nothing needs them) and says which package
 * needs them. Checked with dpkg-query and apt-mark from inside the host, not with mpi-hosts' probe.
 *   npx jest test/security/packageRemoval.lab.test.ts --selectProjects lab --runInBand
 */
import { closeAll } from "../../components/provider/remote";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor, runFacet } from "../../lab/harness/facetRunner";
import { rootOk } from "../../lab/harness/labHelpers";
import { makePackagesInstallableOffline } from "../lab/support/hostState";
import { facetOf, labCluster, newClusterKey } from "../../lab/harness/labCluster";

jest.setTimeout(600000);

const LAB = "secpkg";
const HOST = "host1";
/** A package of the user's, installed after mpi-hosts' apply, that needs what apply installed. */
const USERS_PACKAGE = "lab-analysis";

let lab: Lab;

beforeAll(async () => {
  lab = await startLab({ name: LAB, hosts: 1, release: "trixie", firewall: "none" });
  await makePackagesInstallableOffline(lab, HOST, ["openmpi-bin", "python3-mpi4py"], ["python3-mpi4py"]);
  // The user's package, in the same local repository.
  await rootOk(
    lab,
    HOST,
    `set -e
repo=/srv/mpi-hosts-test-repo
root=$(mktemp -d)
mkdir "$root/DEBIAN"
printf 'Package: ${USERS_PACKAGE}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: a user <user@example.org>\\nDepends: python3-mpi4py\\nDescription: analysis code of a user\\n' >"$root/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -b "$root" "$repo/${USERS_PACKAGE}.deb" >/dev/null
rm -rf "$root"
: >"$repo/Packages"
for deb in "$repo"/*.deb; do
  { dpkg-deb -f "$deb"; printf 'Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n' "$(basename "$deb")" "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -c1-64)"; } >>"$repo/Packages"
done
apt-get update -q >/dev/null`,
  );
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
});

const python = () => facetOf(labCluster(lab), HOST, newClusterKey(), "python");
const status = (pkg: string) => rootOk(lab, HOST, `dpkg-query -W -f '\${Status}' ${pkg} 2>/dev/null || echo absent`);
const isAuto = async (pkg: string) => (await rootOk(lab, HOST, "apt-mark showauto")).split("\n").includes(pkg);

test("remove takes away exactly the packages apply installed when nothing else needs them", async () => {
  const conn = connectionFor(lab, HOST);
  await runFacet(conn, python(), "apply");
  expect(await status("python3-mpi4py")).toBe("install ok installed");
  const removed = await runFacet(conn, python(), "remove");
  expect(removed.stderr).toMatch(/apt-get remove python3-mpi4py/);
  expect(await status("python3-mpi4py")).not.toBe("install ok installed");
  // What was there before apply stays.
  expect(await status("openmpi-bin")).toBe("install ok installed");
});

test("remove keeps what a package of the user's needs, marks it automatically installed and names the package", async () => {
  const conn = connectionFor(lab, HOST);
  await runFacet(conn, python(), "apply");
  await rootOk(lab, HOST, `DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${USERS_PACKAGE} >/dev/null`);
  expect(await isAuto("python3-mpi4py")).toBe(false);
  const removed = await runFacet(conn, python(), "remove");
  expect(removed.stderr).toMatch(new RegExp(`kept python3-mpi4py .*would also remove ${USERS_PACKAGE}`));
  expect(await status(USERS_PACKAGE)).toBe("install ok installed");
  expect(await status("python3-mpi4py")).toBe("install ok installed");
  expect(await isAuto("python3-mpi4py")).toBe(true);
  // Nothing of mpi-hosts' record is left: a later remove has nothing to do.
  expect(await rootOk(lab, HOST, "ls /var/lib/mpi-hosts 2>/dev/null || echo gone")).toBe("gone\n");
});

/**
 * Looking at and preparing lab hosts as root, without SSH and without the product's scripts: the independent
 * baseline the lab tests compare the facets against (snapshots of files, seeded user content, the conda double).
 */
import * as fs from "fs";
import * as path from "path";
import { shellQuote } from "../../../components/templates/shellQuote";
import type { Lab } from "../../../lab/lab";
import { rootOk } from "../../../lab/harness/labHelpers";

export const MPI_HOME = "/home/mpi";

/** Bytes of a file on the host (base64 on the wire, so a missing final newline survives); undefined when absent. */
export async function readHostFile(lab: Lab, host: string, file: string): Promise<string | undefined> {
  const out = await rootOk(lab, host, `if [ -f ${shellQuote(file)} ]; then base64 -w0 <${shellQuote(file)}; else echo ABSENT; fi`);
  return out === "ABSENT\n" ? undefined : Buffer.from(out, "base64").toString("utf8");
}

/** Writes `content` to a file of user mpi (mode 600 unless given), as the user's own editor would. */
export async function writeUserFile(lab: Lab, host: string, file: string, content: string, mode = "600"): Promise<void> {
  const f = shellQuote(file);
  // A missing directory is made the way the user would make it: theirs, private.
  const dir = `"$(dirname ${f})"`;
  await rootOk(
    lab,
    host,
    `[ -d ${dir} ] || install -d -o mpi -g mpi -m 700 ${dir}; cat >${f} && chown mpi:mpi ${f} && chmod ${mode} ${f}`,
    content,
  );
}

/**
 * Every file, link and directory under `roots`, one line each: type, mode, owner, size and sha256 of the bytes
 * (with `times`, also inode and modification time, to show that nothing was rewritten), plus the dpkg status of
 * the MPI packages. Equal snapshots mean equal bytes.
 */
export async function snapshot(lab: Lab, host: string, opts: { roots?: string[]; times?: boolean } = {}): Promise<string> {
  const roots = (opts.roots ?? [MPI_HOME, "/opt", "/var/lib/mpi-hosts"]).map(shellQuote).join(" ");
  const extra = opts.times ? " %i %y" : "";
  return rootOk(
    lab,
    host,
    `set -o pipefail
for root in ${roots}; do [ -e "$root" ] && find "$root" -xdev; done | sort | while IFS= read -r p; do
  if [ -L "$p" ]; then printf '%s link -> %s %s\\n' "$p" "$(readlink "$p")" "$(stat -c '%U:%G${extra}' "$p")"
  elif [ -d "$p" ]; then printf '%s dir %s\\n' "$p" "$(stat -c '%a %U:%G${extra}' "$p")"
  else printf '%s file %s %s\\n' "$p" "$(stat -c '%a %U:%G %s${extra}' "$p")" "$(sha256sum <"$p" | cut -c1-64)"; fi
done
dpkg-query -W -f '\${Package} \${Status}\\n' openmpi-bin python3-mpi4py 2>&1 || true`,
  );
}

/** What a user has before mpi-hosts ever runs, in files the facets share with the user. */
export interface UserContent {
  sshConfig: string;
  authorizedKeys: string;
  bashrc: string;
  mcaParams: string;
}

/**
 * Seeds the user's own content: an ssh `Host myserver` entry WITHOUT a final newline (with `dotfiles`, in a file
 * that ~/.ssh/config links to), a second authorized key of
 * the user's (after the lab's, which the tests log in with), an MCA parameter of the user's own, and keeps the
 * ~/.bashrc from /etc/skel (Debian's, with its non-interactive guard). Returns the bytes as seeded.
 */
export async function seedUserContent(
  lab: Lab,
  host: string,
  ownPublicKey: string,
  opts: { dotfiles?: boolean } = {},
): Promise<UserContent> {
  const sshConfig = "# my own hosts\nHost myserver\n  HostName myserver.example.org\n  User me";
  if (opts.dotfiles) {
    // Kept in a dotfiles checkout and linked into place, as stow or a dotfiles manager does.
    await writeUserFile(lab, host, `${MPI_HOME}/dotfiles/ssh_config`, sshConfig);
    await rootOk(lab, host, "runuser -u mpi -- ln -s ../dotfiles/ssh_config /home/mpi/.ssh/config");
  } else {
    await writeUserFile(lab, host, `${MPI_HOME}/.ssh/config`, sshConfig);
  }
  const labKeys = (await readHostFile(lab, host, `${MPI_HOME}/.ssh/authorized_keys`)) ?? "";
  const authorizedKeys = `${labKeys}${labKeys.endsWith("\n") || !labKeys ? "" : "\n"}${ownPublicKey.split(" ").slice(0, 2).join(" ")} me@laptop\n`;
  await writeUserFile(lab, host, `${MPI_HOME}/.ssh/authorized_keys`, authorizedKeys);
  const mcaParams = "# my own setting\nbtl_base_verbose = 0\n";
  await writeUserFile(lab, host, `${MPI_HOME}/.openmpi/mca-params.conf`, mcaParams, "644");
  const bashrc = (await readHostFile(lab, host, `${MPI_HOME}/.bashrc`)) ?? "";
  return { sshConfig, authorizedKeys, bashrc, mcaParams };
}

/** Debian's ~/.bashrc guard that ends non-interactive shells; PATH lines must come before it. */
export const DEBIAN_NONINTERACTIVE_GUARD = "case $- in\n    *i*) ;;\n      *) return;;\nesac\n";

const OFFLINE_REPO = "/srv/mpi-hosts-test-repo";

/**
 * Lab hosts have no network, and their image comes with Open MPI and mpi4py installed. To watch the `system`
 * python facet install for real, this repacks the installed packages (files, control data and maintainer
 * scripts, as dpkg recorded them) into a local apt repository, points apt at it alone, and then removes `absent`
 * with dpkg: apt-get install in the facet's apply then installs them back through the real apt and dpkg.
 */
export async function makePackagesInstallableOffline(lab: Lab, host: string, packages: string[], absent: string[]): Promise<void> {
  const script = `set -euo pipefail
repo=${OFFLINE_REPO}
mkdir -p "$repo"
for pkg in ${packages.map(shellQuote).join(" ")}; do
  root=$(mktemp -d)
  mkdir "$root/DEBIAN"
  dpkg-query -s "$pkg" | grep -v -e '^Status:' >"$root/DEBIAN/control"
  for script in preinst postinst prerm postrm; do
    if [ -f "/var/lib/dpkg/info/$pkg.$script" ]; then cp "/var/lib/dpkg/info/$pkg.$script" "$root/DEBIAN/$script"; fi
  done
  if [ -f "/var/lib/dpkg/info/$pkg.conffiles" ]; then cp "/var/lib/dpkg/info/$pkg.conffiles" "$root/DEBIAN/conffiles"; fi
  dpkg-query -L "$pkg" | while IFS= read -r p; do
    if [ -d "$p" ] && [ ! -L "$p" ]; then mkdir -p "$root$p"
    elif [ -e "$p" ] || [ -L "$p" ]; then cp -a --parents "$p" "$root"; fi
  done
  dpkg-deb --root-owner-group -Zgzip -b "$root" "$repo/$pkg.deb" >/dev/null
  rm -rf "$root"
done
: >"$repo/Packages"
for deb in "$repo"/*.deb; do
  { dpkg-deb -f "$deb"; printf 'Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n' "$(basename "$deb")" "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -c1-64)"; } >>"$repo/Packages"
done
mkdir -p /etc/apt/sources-before-mpi-hosts-tests
find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -type f -exec mv -t /etc/apt/sources-before-mpi-hosts-tests {} + 2>/dev/null || true
echo "deb [trusted=yes] file:$repo ./" >/etc/apt/sources.list.d/mpi-hosts-test-repo.list
apt-get update -q >/dev/null
for pkg in ${absent.map(shellQuote).join(" ")}; do dpkg -r "$pkg" >/dev/null; done`;
  await rootOk(lab, host, script);
}

export const CONDA_DOUBLE = path.resolve(__dirname, "../../doubles/conda");

/**
 * Installs the conda TEST DOUBLE as PREFIX/bin/conda, in a prefix owned by user mpi that looks like a fresh conda
 * base install (python installed, revision 0 of conda-meta/history), with the double's settings (see
 * test/doubles/conda) and an empty call log.
 */
export async function installCondaDouble(lab: Lab, host: string, prefix: string, settings: Record<string, string> = {}): Promise<void> {
  const p = shellQuote(prefix);
  await rootOk(
    lab,
    host,
    `set -e
mkdir -p ${p}/bin ${p}/conda-meta
cat >${p}/bin/conda
chmod 755 ${p}/bin/conda
rm -f ${p}/conda-meta/history
chown -R mpi:mpi ${p}
: >/tmp/conda-double.log
chmod 666 /tmp/conda-double.log`,
    fs.readFileSync(CONDA_DOUBLE, "utf8"),
  );
  await setCondaDouble(lab, host, settings);
  // A base install has python (what conda create / the installer put there): revision 0 of the history.
  await rootOk(
    lab,
    host,
    `runuser -u mpi -- ${p}/bin/conda install -y -p ${p} --override-channels -c conda-forge python=3.12 >/dev/null && : >/tmp/conda-double.log`,
  );
}

/** Rewrites the double's settings (/etc/conda-double.conf): placeholder=yes|no, versions, fail=yes. */
export async function setCondaDouble(lab: Lab, host: string, settings: Record<string, string>): Promise<void> {
  const text = Object.entries(settings)
    .map(([k, v]) => `${k}=${shellQuote(v)}\n`)
    .join("");
  await rootOk(lab, host, "cat >/etc/conda-double.conf", text);
}

/** Every call the conda double received, one line each, in order. */
export async function condaCalls(lab: Lab, host: string): Promise<string[]> {
  return (await rootOk(lab, host, "cat /tmp/conda-double.log")).split("\n").filter(Boolean);
}

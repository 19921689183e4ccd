/**
 * What systemd would run at boot to load a lab host's firewall, read from the host's own files: lab hosts have no
 * systemd (the boot script becomes sshd), so the boot script runs, after the lab's own firewall, every *enabled* unit
 * (a link in /etc/systemd/system/<target>.wants/, which is what `systemctl enable` makes) whose ExecStart runs a
 * firewall loader: nftables.service (`nft -f /etc/nftables.conf`), netfilter-persistent.service
 * (`netfilter-persistent start`), ufw.service (`ufw-init start`), and any unit of the same kind an admin or mpi-hosts
 * added. Nothing here names mpi-hosts' own files: a unit counts by what its ExecStart runs.
 *
 * Order: targets as systemd reaches them (sysinit, basic, network-pre, multi-user), and within the set, a unit waits
 * for the units its After= names. Other ordering (Before=, Requires=, conditions) is not emulated; a failing unit is
 * logged and the boot goes on, as systemd does.
 */

import * as fs from "fs";
import * as path from "path";

/** The bash function `run_boot_units` (lab/bootUnits.sh): prints what it runs, never fails the boot. */
export function bootUnitsShell(): string {
  return fs.readFileSync(path.join(__dirname, "bootUnits.sh"), "utf8");
}

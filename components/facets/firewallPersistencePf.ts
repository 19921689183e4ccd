/**
 * pf persistence on macOS (issue 13): how the MPI port rules come back after a reboot, the way a Mac's own boot loads
 * pf. Two facts from Apple's files decide the shape:
 *   - launchd's com.apple.pfctl job runs `pfctl -f /etc/pf.conf` at boot, and the stock /etc/pf.conf says of itself
 *     "This file contains the main ruleset, which gets automatically loaded at startup. PF will not be automatically
 *     enabled, however. Instead, each component which utilizes PF is responsible for enabling and disabling PF via -E
 *     and -X". So the rules come back through /etc/pf.conf, and pf needs an enable reference of ours at every boot.
 *   - com.apple.pfctl.plist sits under /System (read-only since System Integrity Protection, macOS 10.11): the usual
 *     fix is a LaunchDaemon of one's own in /Library/LaunchDaemons that runs `pfctl -E` alone (running `pfctl -E -f
 *     /etc/pf.conf` as well races com.apple.pfctl's own load).
 *
 * So: one managed block at the end of /etc/pf.conf, `load anchor "com.apple/mpi-hosts" from "/etc/pf.anchors/mpi-hosts"`,
 * loads our anchor file into the very anchor apply loads at run time, which the stock `anchor "com.apple/*"` already
 * evaluates. `load anchor` carries no rule-order check in pfctl's parse.y (only rules do: options, normalization,
 * queueing, translation, filtering), and the end of the file is the filtering section anyway. A top-level `anchor
 * "mpi-hosts"` rule would need the main ruleset reloaded at apply time to take effect, which Apple's pf.conf warns
 * against ("Care must be taken to ensure that the main ruleset does not get flushed"), and a second anchor name than
 * the run-time one. Our LaunchDaemon runs a small script that takes a pf enable reference (pfctl -E) and records its
 * token with the boot time, exactly as apply records its own, so that the probe and remove know it as ours.
 */
import { templates } from "../templates/templates";
import { BLOCK_BEGIN, BLOCK_END, HEADER } from "./facet";

export const PF_CONF = "/etc/pf.conf";
/** Our LaunchDaemon: enables pf at boot with a reference of ours. */
export const PF_DAEMON_LABEL = "org.mpi-hosts.pf-enable";
export const PF_DAEMON_PLIST = `/Library/LaunchDaemons/${PF_DAEMON_LABEL}.plist`;
/** The stock anchor point our anchor lives under; without it in /etc/pf.conf our boot-time rules are never evaluated. */
export const PF_APPLE_ANCHOR_RULE = 'anchor "com.apple/*"';

export interface PfNames {
  /** The run-time anchor (com.apple/mpi-hosts) and its file (/etc/pf.anchors/mpi-hosts). */
  anchor: string;
  anchorFile: string;
  /** Where apply records its enable token and boot time; the boot script writes the same file. */
  tokenFile: string;
  /** Our state directory on the Mac; the boot script lives there. */
  stateDir: string;
}

export function pfEnableScriptPath(names: PfNames): string {
  return `${names.stateDir}/pf-enable.sh`;
}

/** The block at the end of /etc/pf.conf (without final newline). */
export function pfConfBlock(names: PfNames): string {
  return `${BLOCK_BEGIN}\n# The MPI port rules come back at boot: com.apple.pfctl loads this file, and with it our anchor file.\nload anchor "${names.anchor}" from "${names.anchorFile}"\n${BLOCK_END}`;
}

/**
 * The script our LaunchDaemon runs at boot (and once when apply loads the daemon). Absolute paths: launchd gives a
 * daemon a minimal PATH. It does nothing when the token file already holds a reference taken in this boot that pf
 * still lists (apply took it, then loaded the daemon), so loading never leaves a second reference behind.
 */
export function pfEnableScript(names: PfNames): string {
  // The header first, as in every whole file of ours (remove deletes only such files); launchd runs it with /bin/sh.
  // Not from the template: a script template interpolates only quoted values, and this line is a comment.
  return `${HEADER}\n${templates().render("firewall/pf/pf-enable.sh", { header: HEADER, label: PF_DAEMON_LABEL, tokenFile: names.tokenFile })}`;
}

/** The LaunchDaemon: RunAtLoad, so launchd runs it once at every boot (and when apply loads it with launchctl). */
export function pfDaemonPlist(names: PfNames): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- ${HEADER.replace(/^# /, "")} -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>${PF_DAEMON_LABEL}</string>
	<key>ProgramArguments</key>
	<array>
		<string>/bin/sh</string>
		<string>${pfEnableScriptPath(names)}</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
`;
}

/** Template variables (under `pfPersist`) and files for review of the pf persistence partial. */
export function pfPersistVars(names: PfNames): { vars: object; files: Record<string, string> } {
  const noNewline = (text: string) => text.replace(/\n$/, "");
  const script = pfEnableScript(names);
  const plist = pfDaemonPlist(names);
  return {
    vars: {
      conf: PF_CONF,
      block: pfConfBlock(names),
      appleAnchor: PF_APPLE_ANCHOR_RULE,
      label: PF_DAEMON_LABEL,
      plist: PF_DAEMON_PLIST,
      plistText: noNewline(plist),
      script: pfEnableScriptPath(names),
      scriptText: noNewline(script),
    },
    files: {
      "pf/pf.conf-block": `${pfConfBlock(names)}\n`,
      [`pf/${PF_DAEMON_LABEL}.plist`]: plist,
      "pf/pf-enable.sh": script,
    },
  };
}

/**
 * pf persistence without a Mac: the desired `boot` of a macOS host, and the pf.conf block, LaunchDaemon and boot script
 * the scripts write. The scripts run against the macOS doubles and a simulated boot in test/lab/macos.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { BLOCK_BEGIN, BLOCK_END, HEADER } from "./facet";
import { PF_ANCHOR, PF_ANCHOR_FILE, PF_TOKEN_FILE, MACOS_STATE_DIR, renderFirewall } from "./firewall";
import { PERSISTENT } from "./firewallPersistence";
import { pfConfBlock, pfDaemonPlist, pfEnableScript, PF_DAEMON_LABEL, PF_DAEMON_PLIST } from "./firewallPersistencePf";

const NAMES = { anchor: PF_ANCHOR, anchorFile: PF_ANCHOR_FILE, tokenFile: PF_TOKEN_FILE, stateDir: MACOS_STATE_DIR };

function macs(persist: boolean | undefined) {
  const raw = readStackFile("Pulumi.example.yaml");
  const hosts = raw.hosts as Array<Record<string, unknown>>;
  const mac = hosts.find((h) => h.os === "macos")!;
  if (persist !== undefined) mac.firewallPersist = persist;
  const c = loadClusterOrThrow(raw).cluster;
  return renderFirewall(
    c,
    c.hosts.find((h) => h.name === mac.name)!,
  );
}

describe("what a Mac's boot is expected to load", () => {
  it("expects the pf rules to persist by default, like the Linux backends", () => {
    expect(macs(undefined).desired).toMatchObject({ boot: PERSISTENT });
  });

  it("expects no boot-time rules on a Mac whose firewallPersist is off, and apply then takes ours out", () => {
    const off = macs(false);
    expect(off.desired).not.toHaveProperty("boot");
    expect(off.scripts.apply).toContain("\nfw_persist='no'\n");
  });
});

describe("what the scripts write for the boot", () => {
  it("loads our anchor file into the run-time anchor from a block of /etc/pf.conf, with no rule of its own (load anchor has no order check)", () => {
    expect(pfConfBlock(NAMES).split("\n")).toEqual([
      BLOCK_BEGIN,
      "# The MPI port rules come back at boot: com.apple.pfctl loads this file, and with it our anchor file.",
      'load anchor "com.apple/mpi-hosts" from "/etc/pf.anchors/mpi-hosts"',
      BLOCK_END,
    ]);
  });

  it("writes a LaunchDaemon plist launchd can read: our label, absolute program paths, RunAtLoad, our header on line 3", () => {
    const plist = pfDaemonPlist(NAMES);
    expect(PF_DAEMON_PLIST).toBe(`/Library/LaunchDaemons/${PF_DAEMON_LABEL}.plist`);
    // remove deletes the plist only when line 3 names us (the XML declaration and doctype come first).
    expect(plist.split("\n")[2]).toContain("managed by mpi-hosts");
    const parsed = spawnSync("python3", ["-c", "import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))"], {
      input: plist,
      encoding: "utf8",
    });
    expect(parsed.stderr).toBe("");
    expect(JSON.parse(parsed.stdout)).toEqual({
      Label: PF_DAEMON_LABEL,
      ProgramArguments: ["/bin/sh", `${MACOS_STATE_DIR}/pf-enable.sh`],
      RunAtLoad: true,
    });
  });

  it("writes a boot script that starts with our header, calls pfctl and sysctl by absolute path and passes shellcheck", () => {
    const script = pfEnableScript(NAMES);
    expect(script.split("\n")[0]).toBe(HEADER);
    expect(script).toContain("/sbin/pfctl -E");
    expect(script).toContain("/usr/sbin/sysctl -n kern.boottime");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pf-enable-"));
    try {
      fs.writeFileSync(path.join(dir, "pf-enable.sh"), script);
      const r = spawnSync("shellcheck", ["pf-enable.sh"], { cwd: dir, encoding: "utf8" });
      expect(r.error).toBeUndefined();
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: "" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

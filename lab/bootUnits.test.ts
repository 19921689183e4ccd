import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bootUnitsShell } from "./bootUnits";

/** A root with unit files and `systemctl enable`-style links, and what run_boot_units would run in it, in order. */
function bootOrder(
  units: { name: string; target: string; lines: string[]; enabled?: boolean }[],
  /** More files under the root (a drop-in), or links (`-> target`, as `systemctl mask` makes). */
  extra: Record<string, string> = {},
): string[] {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "boot-units-"));
  try {
    for (const [name, text] of Object.entries(extra)) {
      const file = path.join(root, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      if (text.startsWith("-> ")) fs.symlinkSync(text.slice(3), file);
      else fs.writeFileSync(file, text);
    }
    for (const u of units) {
      const file = path.join(root, "lib/systemd/system", u.name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `[Unit]\n${u.lines.join("\n")}\n`);
      if (u.enabled === false) continue;
      const wants = path.join(root, "etc/systemd/system", `${u.target}.wants`);
      fs.mkdirSync(wants, { recursive: true });
      fs.symlinkSync(file, path.join(wants, u.name));
    }
    const script = `set -euo pipefail\n${bootUnitsShell()}\nrun_boot_units\n`;
    const result = spawnSync("bash", ["-c", script], {
      env: { ...process.env, BOOT_UNITS_ROOT: root, BOOT_UNITS_DRY: "1" },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return result.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(root, "").replace(/^lab: boot: /, ""));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe("what the lab runs at boot in place of systemd (run_boot_units)", () => {
  test("runs enabled units whose ExecStart loads a firewall, sysinit before multi-user, and nothing else", () => {
    expect(
      bootOrder([
        {
          name: "ufw.service",
          target: "multi-user.target",
          lines: ["ExecStart=/lib/ufw/ufw-init start quiet", "ExecStop=/lib/ufw/ufw-init stop"],
        },
        { name: "nftables.service", target: "sysinit.target", lines: ["ExecStart=/usr/sbin/nft -f /etc/nftables.conf"] },
        { name: "ssh.service", target: "multi-user.target", lines: ["ExecStart=/usr/sbin/sshd -D $SSHD_OPTS"] },
        {
          name: "netfilter-persistent.service",
          target: "multi-user.target",
          lines: ["ExecStart=/usr/sbin/netfilter-persistent start"],
          enabled: false,
        },
      ]),
    ).toEqual([
      "nftables.service (/lib/systemd/system/nftables.service): /usr/sbin/nft -f /etc/nftables.conf",
      "ufw.service (/lib/systemd/system/ufw.service): /lib/ufw/ufw-init start quiet",
    ]);
  });

  test("runs a unit after the units its After= names, whatever their names; a bare program name counts by its name", () => {
    expect(
      bootOrder([
        {
          name: "a-rules.service",
          target: "multi-user.target",
          lines: ["After=z-loader.service", "ExecStart=-iptables-restore -w --noflush /etc/a"],
        },
        { name: "z-loader.service", target: "multi-user.target", lines: ["ExecStart=/usr/sbin/netfilter-persistent start"] },
      ]),
    ).toEqual([
      "z-loader.service (/lib/systemd/system/z-loader.service): /usr/sbin/netfilter-persistent start",
      "a-rules.service (/lib/systemd/system/a-rules.service): iptables-restore -w --noflush /etc/a",
    ]);
  });
});

describe("masks and drop-ins, as systemd reads them", () => {
  const nftables = {
    name: "nftables.service",
    target: "sysinit.target",
    lines: ["[Service]", "ExecStart=/usr/sbin/nft -f /etc/nftables.conf"],
  };

  test("a masked unit (a link to /dev/null in /etc/systemd/system) is not started", () => {
    expect(bootOrder([nftables], { "etc/systemd/system/nftables.service": "-> /dev/null" })).toEqual([
      "nftables.service is masked, not started",
    ]);
  });

  test("a drop-in that empties ExecStart and sets another: the drop-in's command runs, drop-ins in file-name order", () => {
    expect(
      bootOrder([nftables], {
        "etc/systemd/system/nftables.service.d/10-site.conf": "[Service]\nExecStart=\nExecStart=/usr/sbin/nft -f /etc/nft/site.nft\n",
        "etc/systemd/system/nftables.service.d/20-more.conf": "[Service]\nExecStart=/usr/sbin/nft -f /etc/nft/more.nft\n",
      }),
    ).toEqual([
      "nftables.service (/lib/systemd/system/nftables.service): /usr/sbin/nft -f /etc/nft/site.nft",
      "nftables.service (/lib/systemd/system/nftables.service): /usr/sbin/nft -f /etc/nft/more.nft",
    ]);
  });
});

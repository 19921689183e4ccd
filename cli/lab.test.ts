import { run } from "./lab";
import { captureOutput } from "../test/support/captureOutput";

/** Only paths that stop before touching the machine: these run in the unit project, as any user. */
describe("npm run lab", () => {
  const output = captureOutput();

  test.each(["up", "down", "status", "reboot"])("%s --help prints its usage", async (command) => {
    expect(await run([command, "--help"])).toBe(0);
    expect(output.out).toMatch(new RegExp(`^usage: npm run lab -- ${command}`));
  });

  test("without a subcommand prints the usage and fails", async () => {
    expect(await run([])).toBe(1);
    expect(output.out).toMatch(/up .*down .*status/s);
  });

  test.each([
    [["up", "--hosts", "0"], /--hosts must be a positive whole number, got '0'/],
    [["up", "--release", "sid"], /--release must be one of trixie, bookworm, got 'sid'/],
    [["up", "--firewall", "nft"], /firewall kind 'nft' is not one of none, iptables, ufw, nftables-debian, nftables-foreign/],
    [["up", "--hosts", "2", "--firewall", "none,ufw,iptables"], /--firewall lists 3 kinds for 2 hosts/],
    [["up", "--firewall", "host9=ufw"], /--firewall names host 'host9', but the lab's hosts are host1, host2, host3/],
    [["up", "--bogus"], /^lab up: unknown option --bogus\n\nusage: npm run lab -- up/],
    [["status", "--name", "Bad_Name"], /lab name 'Bad_Name' must be/],
    [["reboot"], /--host is required/],
    [["restart"], /unknown subcommand 'restart'/],
  ])("%j fails with a clear message", async (args, message) => {
    expect(await run(args)).toBe(1);
    expect(output.err).toMatch(message);
  });
});

import { BackendOn, backendExistsOn, backendsOn } from "./firewallBackends";
import { FIREWALL_BACKEND_VALUES } from "./rawConfig";

describe("which firewall backend exists on which OS", () => {
  it("names each OS's backends in the schema's order", () => {
    expect(backendsOn("linux")).toBe("auto, nftables, iptables, ufw, firewalld or none");
    expect(backendsOn("macos")).toBe("auto, pf or none");
  });

  it("places every backend of the schema on Linux, macOS or both", () => {
    const placed = FIREWALL_BACKEND_VALUES.filter((b) => backendExistsOn(b, "linux") || backendExistsOn(b, "macos"));
    expect(placed).toEqual([...FIREWALL_BACKEND_VALUES]);
  });

  it("types the backends of one OS only", () => {
    const linux: BackendOn<"linux">[] = ["nftables", "iptables", "ufw", "firewalld"];
    // @ts-expect-error pf is not a Linux backend
    const notLinux: BackendOn<"linux"> = "pf";
    // @ts-expect-error auto fits every OS: it is no backend of one OS only
    const auto: BackendOn<"macos"> = "auto";
    expect([linux, notLinux, auto]).toHaveLength(3);
  });
});

import {
  bridgeName,
  checkLabName,
  hostAddress,
  hostMac,
  labNetwork,
  labsRoot,
  netnsName,
  netnsPrefix,
  pickLabIndex,
  renderEtcHosts,
  vethName,
} from "./names";

describe("lab names", () => {
  test.each(["lab", "jest-bw", "a", "x1", "a".repeat(32)])("accepts lab name %s", (name) => {
    expect(checkLabName(name)).toBeUndefined();
  });

  test.each(["", "Lab", "-lab", "lab-", "a_b", "a b", "a/b", "a".repeat(33), "$(reboot)"])("refuses lab name %j", (name) => {
    expect(checkLabName(name)).toMatch(/lab name/);
  });

  test("bridge names fit the 15-character limit and stay distinct for long names", () => {
    expect(bridgeName("lab")).toBe("mhl-lab");
    const long = ["integration-one", "integration-two", "a".repeat(32)].map(bridgeName);
    for (const name of long) expect(name.length).toBeLessThanOrEqual(15);
    expect(new Set(long).size).toBe(3);
  });

  test("no lab's namespaces can be mistaken for another's", () => {
    expect(netnsName("a", "host1")).toBe("mhlab_a_host1");
    // '_' is not allowed in lab names, so lab "a" never matches the prefix of lab "a-b" or the reverse.
    expect(netnsName("a-b", "host1").startsWith(netnsPrefix("a"))).toBe(false);
  });

  test("veth names fit the limit at the largest index and host number", () => {
    expect(vethName(254, 200).length).toBeLessThanOrEqual(15);
  });

  test("addresses stay inside the lab's /24 of 10.213.0.0/16", () => {
    expect(labNetwork(7)).toEqual({ network: "10.213.7.0/24", gateway: "10.213.7.1", prefixLength: 24 });
    expect(hostAddress(7, 0)).toBe("10.213.7.11");
    expect(hostAddress(7, 199)).toBe("10.213.7.210");
    expect(() => hostAddress(7, 200)).toThrow(/at most 200/);
    expect(() => labNetwork(0)).toThrow();
    expect(() => labNetwork(255)).toThrow();
  });

  test("host MACs are fixed, unicast, locally administered and distinct", () => {
    expect(hostMac(1, 1)).toBe("02:6d:68:01:00:01");
    expect(hostMac(254, 200)).toBe("02:6d:68:fe:00:c8");
    expect(hostMac(3, 12)).not.toBe(hostMac(12, 3));
  });

  test("picks the lowest index used neither by a lab nor by an address on the machine", () => {
    expect(pickLabIndex([], [])).toBe(1);
    expect(pickLabIndex([1, 2], ["10.213.3.1", "192.0.2.2", "10.21.4.1"])).toBe(4);
    expect(() =>
      pickLabIndex(
        Array.from({ length: 254 }, (_, i) => i + 1),
        [],
      ),
    ).toThrow(/every lab subnet/);
  });

  test("state lives under MPI_HOSTS_LAB_DIR, which must be safe for overlay mount options", () => {
    expect(labsRoot({})).toBe("/run/mpi-hosts/labs");
    expect(labsRoot({ MPI_HOSTS_LAB_DIR: "/tmp/labs/" })).toBe("/tmp/labs/");
    for (const bad of ["relative/dir", "/tmp/a,b", "/tmp/a:b", "/tmp/a b"]) {
      expect(() => labsRoot({ MPI_HOSTS_LAB_DIR: bad })).toThrow(/MPI_HOSTS_LAB_DIR/);
    }
  });

  test("/etc/hosts names localhost and every lab host", () => {
    expect(
      renderEtcHosts([
        { name: "host1", address: "10.213.1.11" },
        { name: "host2", address: "10.213.1.12" },
      ]),
    ).toBe(
      "# Written by the mpi-hosts lab: localhost and every lab host (the lab's DNS).\n127.0.0.1\tlocalhost\n10.213.1.11\thost1\n10.213.1.12\thost2\n",
    );
  });
});

import { labJump, planBastion } from "./bastion";

const HOSTS = ["host1", "host2", "host3"];

describe("which lab hosts sit behind a bastion", () => {
  test("none unless asked", () => {
    expect(planBastion(HOSTS, undefined)).toBeUndefined();
    expect(planBastion(HOSTS, [])).toBeUndefined();
  });

  test("the bastion defaults to the first host not behind it", () => {
    expect(planBastion(HOSTS, ["host1", "host3"])).toEqual({ host: "host2", behind: ["host1", "host3"] });
    expect(planBastion(HOSTS, ["host3"], "host2")).toEqual({ host: "host2", behind: ["host3"] });
  });

  test.each([
    [["host9"], undefined, "behindBastion names host9, which is not a host of this lab (host1, host2, host3)"],
    [HOSTS, undefined, "every host is behind the bastion (host1, host2, host3); leave at least one reachable"],
    [["host3"], "host3", "host3 cannot be both the bastion and behind it"],
    [["host3"], "gw", "bastion gw is not a host of this lab (host1, host2, host3)"],
    [[], "host1", "bastion host1 is given, but no host is behind it (behindBastion)"],
  ])("refuses behind %j with bastion %s", (behind, bastion, message) => {
    expect(() => planBastion(HOSTS, behind, bastion)).toThrow(message);
  });

  test("a host behind it gets the bastion as its connection's jump; the others none", () => {
    const hosts = HOSTS.map((name, i) => ({
      name,
      address: `10.213.1.${11 + i}`,
      port: 2400,
      user: "mpi",
      hostKeys: [`ssh-ed25519 K${i}`],
    }));
    const lab = { bastion: { host: "host1", behind: ["host3"] }, hosts } as unknown as Parameters<typeof labJump>[0];
    expect(labJump(lab, "host3")).toEqual({
      jump: { name: "host1", address: "10.213.1.11", port: 2400, user: "mpi", hostKeys: ["ssh-ed25519 K0"] },
    });
    expect(labJump(lab, "host2")).toEqual({});
  });
});

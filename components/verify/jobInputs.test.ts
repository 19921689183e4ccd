import { loadClusterOrThrow, readStackFile } from "../config/load";
import { Cluster } from "../config/types";
import { checkedJobInputs, clusterOfJob, jobInputProblems, jobInputsOf } from "./jobInputs";
import { renderVerifyScript } from "./script";

const FINGERPRINT = "f".repeat(64);

function cluster(file: string, edit: (raw: Record<string, any>) => void = () => {}): Cluster {
  const raw = readStackFile(file) as Record<string, any>;
  edit(raw);
  return loadClusterOrThrow(raw).cluster;
}

const CLUSTERS: Array<[string, Cluster]> = [
  ["the example (conda, Macs, ephemeral runtime ports)", cluster("Pulumi.example.yaml")],
  ["system packages on Linux", cluster("test/fixtures/Pulumi.linux-system.yaml")],
  [
    "a fixed runtime range, pingpong, another head and timeouts",
    cluster("Pulumi.example.yaml", (raw) => {
      raw.mpi = { ...raw.mpi, oobPorts: "50100-50199" };
      raw.verify = { from: "linux2", tests: ["helloworld", "pingpong"], timeoutSeconds: 30 };
      raw.ssh = { ...raw.ssh, connectTimeoutSeconds: 3 };
    }),
  ],
];

describe("the verification job's declared inputs", () => {
  it.each(CLUSTERS)("carry all the script is rendered from: %s", (_what, c) => {
    const inputs = jobInputsOf(c, FINGERPRINT, {});
    // Through JSON, as the state and the engine carry them.
    const travelled = JSON.parse(JSON.stringify(inputs));
    expect(jobInputProblems(travelled)).toEqual([]);
    expect(renderVerifyScript(clusterOfJob(travelled), { reportOnFailure: false })).toBe(renderVerifyScript(c, { reportOnFailure: false }));
  });

  it("hold no script, no command and no key", () => {
    const text = JSON.stringify(jobInputsOf(CLUSTERS[0][1], FINGERPRINT, {}));
    expect(text).not.toMatch(/#!|mpirun|PRIVATE KEY|privateKey|sh -s|"create"|"delete"|"stdin"/);
  });

  const valid = () => JSON.parse(JSON.stringify(jobInputsOf(CLUSTERS[0][1], FINGERPRINT, { "linux1/python": "2026-12-02T04:00:00.000Z" })));
  const cases: Array<[string, (i: any) => void, RegExp]> = [
    [
      "a host name with a newline and a command",
      (i) => (i.cluster.hosts[1].name = "mac2\ntouch /tmp/x #"),
      /\/cluster\/hosts\/1\/name must match pattern/,
    ],
    [
      "an address with a shell substitution",
      (i) => (i.cluster.hosts[0].address = "$(id)"),
      /\/cluster\/hosts\/0\/address must match pattern/,
    ],
    ["a prefix with a quote", (i) => (i.cluster.hosts[0].pythonPrefix = "/opt/a'b"), /pythonPrefix must match pattern/],
    [
      "a test the job does not know",
      (i) => (i.cluster.verify.tests = ["helloworld", "rm -rf ~"]),
      /\/cluster\/verify\/tests\/1 must be equal to one of the allowed values/,
    ],
    [
      "a command of @pulumi/command's",
      (i) => (i.delete = "id -u > /tmp/pwned-job"),
      /must NOT have additional properties \{"additionalProperty":"delete"\}/,
    ],
    ["a script", (i) => (i.stdin = "touch /tmp/x"), /additionalProperty":"stdin"/],
    ["a key in the connection", (i) => (i.connection.privateKey = "-----BEGIN"), /\/connection must NOT have additional properties/],
    [
      "a login in the connection",
      (i) => (i.connection.login = { keyFile: "/etc/shadow" }),
      /\/connection must NOT have additional properties/,
    ],
    [
      "a connection to another host than the head",
      (i) => (i.connection.address = "10.9.9.9"),
      /\/connection address differ from the head host linux1/,
    ],
    ["a head that is not a host", (i) => (i.cluster.verify.from = "elsewhere"), /verify\/from elsewhere is not one of the hosts/],
    [
      "a host key with a trailing command",
      (i) => (i.connection.hostKeys = ["ssh-ed25519 AAAA\ntouch"]),
      /\/connection\/hostKeys\/0 must match pattern/,
    ],
    [
      "an appliedAt that is not a time",
      (i) => (i.appliedAt["linux1/python"] = "$(reboot)"),
      /\/appliedAt\/linux1~1python must match pattern/,
    ],
    ["a fingerprint that is not one", (i) => (i.fingerprint = "x"), /\/fingerprint must match pattern/],
  ];
  it("take every host key type known_hosts may list, as the facets' records do (a head with an sk- or a dss key)", () => {
    const inputs = valid();
    const blob = inputs.connection.hostKeys[0].split(" ")[1];
    inputs.connection.hostKeys = [
      ...inputs.connection.hostKeys,
      `sk-ssh-ed25519@openssh.com ${blob}`,
      `ssh-dss ${blob}`,
      ...Array.from({ length: 70 }, () => `ssh-ed25519 ${blob}`),
    ];
    inputs.connection.revokedKeys = [{ key: `sk-ecdsa-sha2-nistp256@openssh.com ${blob}`, where: "~/.ssh/known_hosts:3" }];
    expect(jobInputProblems(inputs)).toEqual([]);
  });

  it.each(cases)("refuse %s, naming it", (_what, edit, message) => {
    const inputs = valid();
    expect(jobInputProblems(inputs)).toEqual([]);
    edit(inputs);
    expect(jobInputProblems(inputs).join("\n")).toMatch(message);
    expect(() => checkedJobInputs(inputs, "urn:job")).toThrow(
      /^urn:job: the verification job's inputs are not what mpi-hosts declares \(.*\); nothing was run/s,
    );
  });
});

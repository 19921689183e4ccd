import { bastionConnection, Connection, decodeParts, knownKeysOf, partsScript, poolKey } from "./remote";

const FRAME = "@@mpi-hosts-parts";
const framed = (codes: string, sizes: string[], files: string[]) =>
  [
    `${FRAME} codes ${codes}`,
    `${FRAME} sizes`,
    ...sizes,
    `${FRAME} data ${Buffer.concat(files.map((f) => Buffer.from(f, "utf8"))).toString("base64")}`,
    "",
  ].join("\n");

describe("the results of several scripts run in one round trip", () => {
  test("gives each part its exit code, stdout and stderr, byte for byte (multibyte text, no final newline)", () => {
    const files = ['{"a":1}\n', "", "héllo → wörld", "mpi-hosts: note\n"];
    const sizes = files.map((f, i) => `${Buffer.byteLength(f)} ${i % 2 ? "e" : "o"}${i >> 1}`);
    expect(decodeParts(framed("0 3", [...sizes, "42 total"], files), 2)).toEqual([
      { code: 0, stdout: '{"a":1}\n', stderr: "" },
      { code: 3, stdout: "héllo → wörld", stderr: "mpi-hosts: note\n" },
    ]);
  });

  test("reads the sizes as BSD wc pads them (macOS hosts)", () => {
    const sizes = ["       2 o0", "       0 e0", "       1 o1", "       0 e1", "       3 total"];
    expect(decodeParts(framed("0 0", sizes, ["ok", "", "x", ""]), 2).map((r) => r?.stdout)).toEqual(["ok", "x"]);
  });

  test("leaves a part without a result when the batch stopped before it was framed", () => {
    expect(decodeParts("", 2)).toEqual([undefined, undefined]);
    expect(decodeParts(`${FRAME} codes 0 0\n${FRAME} sizes\n2 o0\n0 e0\n`, 2)).toEqual([undefined, undefined]);
  });

  test("ignores what a chatty login shell prints around the frames", () => {
    const text = "Welcome!\n12 o0\n" + framed("1", ["5 o0", "0 e0"], ["hello", ""]);
    expect(decodeParts(text, 1)).toEqual([{ code: 1, stdout: "hello", stderr: "" }]);
  });
});

describe("a connection through a jump host", () => {
  const host: Connection = {
    name: "host3",
    address: "10.0.0.13",
    port: 2400,
    user: "mpi",
    hostKeys: ["ssh-ed25519 AAAAhost3"],
    revokedKeys: [{ key: "ssh-ed25519 AAAAold", where: "known_hosts:3" }],
    hostKeysFrom: "pinned in the stack config",
    connectTimeoutSeconds: 7,
  };
  const jump = { name: "b1", address: "gw.example.edu", port: 22, user: "jumper", hostKeys: ["ssh-ed25519 AAAAgw"] };

  test("the bastion is reached with its own address, port, user and keys (not the host's revoked list), the host's login and timeout", () => {
    const login = { keyFile: "/home/me/.ssh/id_ed25519" };
    expect(bastionConnection({ ...host, login, jump })).toEqual({
      name: "b1",
      address: "gw.example.edu",
      port: 22,
      user: "jumper",
      hostKeys: ["ssh-ed25519 AAAAgw"],
      revokedKeys: undefined,
      hostKeysFrom: undefined,
      login,
      connectTimeoutSeconds: 7,
      jump: undefined,
    });
    expect(bastionConnection(host)).toBeUndefined();
  });

  test("is pooled apart from a direct session to the same host, and per bastion", () => {
    const direct = poolKey(host);
    const viaB1 = poolKey({ ...host, jump });
    const viaB2 = poolKey({ ...host, jump: { ...jump, address: "gw2.example.edu" } });
    expect(viaB1).toBe(`${direct} via jumper@gw.example.edu:22/ssh-ed25519 AAAAgw`);
    expect(new Set([direct, viaB1, viaB2]).size).toBe(3);
  });
});

describe("the host keys a connection is checked against", () => {
  const base = { name: "node1", address: "10.0.0.5", port: 2400, user: "mpi", connectTimeoutSeconds: 5 };
  const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIED";

  test("hostKeys", () => {
    expect(knownKeysOf({ ...base, hostKeys: [ED] })).toEqual([ED]);
  });

  test.each([
    ["no hostKeys", {}],
    ["an empty hostKeys", { hostKeys: [] }],
    // No release wrote a connection with one hostKey (the format before hostKeys): it is not read as one.
    ["a hostKey alone, without hostKeys", { hostKey: ED }],
  ])("%s: refused naming the host and what to do, before anything connects", (_name, keys) => {
    expect(() => knownKeysOf({ ...base, ...keys } as unknown as Connection)).toThrow(
      "node1 (mpi@10.0.0.5:2400): the connection has no host key to check the host against; nothing ran. " +
        "Pin the host's key in hostKey or list it in known_hosts (ssh-keyscan -p 2400 10.0.0.5, checked out of band), then run pulumi up.",
    );
  });
});

describe("the frame quotes with the templates' one quoting helper", () => {
  test("refuses a NUL byte in a secret value (the cluster key) rather than letting the shell drop it silently (sh and bash read ab\\0cd as abcd)", () => {
    const part = { step: "apply", script: "true\n", env: { MPI_HOSTS_CLUSTER_KEY: "-----BEGIN\u0000KEY" } };
    expect(() => partsScript([part], {})).toThrow("a NUL byte cannot be passed to a shell");
  });

  test.each(["A=1; touch /tmp/pwned; B", "A\nid", "1A", "A-B", ""])(
    "refuses the environment variable name %j (names reach the shell unquoted, and a state can choose them)",
    (name) => {
      const part = { step: "remove", script: "true\n", env: { [name]: "value" } };
      expect(() => partsScript([part], {})).toThrow("is not a shell variable name; nothing ran");
    },
  );

  test("exports a plain variable name", () => {
    const part = { step: "apply", script: "true\n", env: { MPI_HOSTS_CLUSTER_KEY: "value" } };
    expect(partsScript([part], {})).toContain("; export MPI_HOSTS_CLUSTER_KEY\n");
  });
});

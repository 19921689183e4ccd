/**
 * The facet definition as one shape: what every facet declares, that its render reads only its declared inputs (plain
 * JSON), and that the markers and the hostfile's path have one source each.
 */
import * as fs from "fs";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { Cluster } from "../config/types";
import { TEMPLATE_ROOT } from "../templates/templates";
import { BLOCK_BEGIN, BLOCK_END, FACET_TIMEOUT_SECONDS, HEADER, HEADER_MARK, probeInputsOf, renderFacet, renderFromInputs } from "./facet";
import { facets, facetsOf, renderHost } from "./index";
import { HOSTFILE_PATH } from "./hostfile";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEY mpi-hosts cluster";

function stack(file: string, tweak: (raw: Record<string, any>) => void = () => undefined): Cluster {
  const raw = readStackFile(file);
  tweak(raw);
  return loadClusterOrThrow(raw).cluster;
}

/** Clusters that between them reach every facet and every kind: Macs and Linux, conda and distro packages, link modes. */
const clusters: Array<[string, () => Cluster]> = [
  ["the example (Macs and Linux, conda)", () => stack("Pulumi.example.yaml")],
  ["distro packages", () => stack("test/fixtures/Pulumi.linux-system.yaml")],
  ["prefixLink always", () => stack("Pulumi.example.yaml", (raw) => (raw.python = { ...raw.python, prefixLink: "always" }))],
];

/** Every file under templates/, with its text. */
function templateFiles(dir = TEMPLATE_ROOT): Array<[string, string]> {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e): Array<[string, string]> => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? templateFiles(full) : [[path.relative(TEMPLATE_ROOT, full), fs.readFileSync(full, "utf8")]];
  });
}

describe("every facet is one definition", () => {
  it("has a unique name", () => {
    const names = facets.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("declares a time limit: conda installs get 30 minutes, every other facet the common limit", () => {
    expect(Object.fromEntries(facets.map((f) => [f.name, f.timeoutSeconds]))).toEqual({
      python: 1800,
      prefixLink: FACET_TIMEOUT_SECONDS,
      sshConfig: FACET_TIMEOUT_SECONDS,
      clusterTrust: FACET_TIMEOUT_SECONDS,
      mcaParams: FACET_TIMEOUT_SECONDS,
      firewall: FACET_TIMEOUT_SECONDS,
      hostfile: FACET_TIMEOUT_SECONDS,
    });
  });

  describe.each(clusters)("on %s", (_label, cluster) => {
    it("renders each host's facets from inputs that are plain JSON: read back from JSON, they render the same bytes", () => {
      const c = cluster();
      for (const host of c.hosts) {
        for (const definition of facetsOf(c, host)) {
          const inputs = definition.inputs({ cluster: c, host, clusterPublicKey: KEY });
          const readBack = JSON.parse(JSON.stringify(inputs));
          expect(readBack).toEqual(inputs);
          expect(renderFromInputs(definition, readBack)).toEqual(renderFacet(definition, { cluster: c, host, clusterPublicKey: KEY }));
        }
      }
    });

    it("gives each rendered facet what its definition declares: name, host, privileges, time limit, secrets", () => {
      const c = cluster();
      for (const host of c.hosts) {
        const rendered = renderHost(c, host, KEY);
        expect(rendered.map((f) => f.facet)).toEqual(facetsOf(c, host).map((d) => d.name));
        for (const [i, definition] of facetsOf(c, host).entries()) {
          expect(rendered[i]).toMatchObject({
            facet: definition.name,
            host: host.name,
            probePrivileged: definition.probePrivileged,
            timeoutSeconds: definition.timeoutSeconds,
            secretEnv: [...definition.secretEnv],
          });
        }
      }
    });
  });

  it("runs python's apply through sudo for distro packages only (a conda prefix is the login user's)", () => {
    const privileged = (c: Cluster) => renderHost(c, c.hosts[0], KEY).find((f) => f.facet === "python")!.privileged;
    expect(privileged(stack("test/fixtures/Pulumi.linux-system.yaml"))).toBe(true);
    expect(privileged(stack("Pulumi.example.yaml"))).toBe(false);
  });
});

describe("one source for the markers (components/facets/facet.ts)", () => {
  it("no template spells the managed-block markers or the header itself", () => {
    const spelled = templateFiles().filter(([, text]) => [BLOCK_BEGIN, BLOCK_END, HEADER_MARK].some((m) => text.includes(m)));
    expect(spelled.map(([file]) => file)).toEqual([]);
  });

  it("the shell library gets them as values, quoted as before", () => {
    const c = stack("Pulumi.example.yaml");
    const script = renderHost(c, c.hosts[0], KEY)[0].scripts.apply;
    expect(script).toContain(`\nmh_begin='${BLOCK_BEGIN}'\nmh_end='${BLOCK_END}'\n`);
    expect(script).toContain(`grep -q -F '${HEADER_MARK}'; then`);
    expect(HEADER.startsWith(`# ${HEADER_MARK}`)).toBe(true);
  });

  it("every block a facet keeps in someone else's file starts and ends with the markers", () => {
    const c = stack("Pulumi.example.yaml");
    const blocks = renderHost(c, c.hosts[0], KEY).flatMap((f) => Object.entries(f.files).filter(([name]) => name.endsWith(".block")));
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const [, text] of blocks) {
      expect(text.startsWith(`${BLOCK_BEGIN}\n`)).toBe(true);
      expect(text.endsWith(`\n${BLOCK_END}\n`)).toBe(true);
    }
  });
});

describe("the hostfile's path (HOSTFILE_PATH)", () => {
  it("is where the hostfile facet's scripts read, write and remove the hostfile, and the directory they make and remove", () => {
    const c = stack("Pulumi.example.yaml");
    const { scripts } = renderHost(c, c.hosts[0], KEY).find((f) => f.facet === "hostfile")!;
    const dir = HOSTFILE_PATH.slice(0, HOSTFILE_PATH.lastIndexOf("/"));
    expect(scripts.probe).toContain(`mh_json_file hostfile_b64 "$HOME"/${HOSTFILE_PATH}\n`);
    expect(scripts.apply).toContain(`\nhostfile="$HOME"/${HOSTFILE_PATH}\n`);
    expect(scripts.apply).toContain(`\nmkdir -p "$HOME"/${dir}\n`);
    expect(scripts.remove).toContain(`\nmh_owned_remove "$HOME"/${HOSTFILE_PATH}\nrmdir "$HOME"/${dir} `);
    // Every path the scripts name under .mpi-hosts is that one (or its directory).
    for (const kind of ["probe", "apply", "remove"] as const) {
      const named = scripts[kind].match(/"\$HOME"\/[A-Za-z0-9._/-]+/g) ?? [];
      expect(new Set(named)).toEqual(new Set(named.filter((p) => p === `"$HOME"/${HOSTFILE_PATH}` || p === `"$HOME"/${dir}`)));
      expect(named.length).toBeGreaterThan(0);
    }
  });
});

describe("the probe inputs every record of a host holds (hostFacets)", () => {
  it("do not change with the cluster key or its generation, so a rotation updates the clusterTrust records alone", () => {
    const hostFacetsOf = (rotation: string, key: string) => {
      const c = stack("Pulumi.example.yaml", (raw) => (raw.ssh = { ...raw.ssh, clusterKeyRotation: rotation }));
      return c.hosts.map((host) => facetsOf(c, host).map((d) => probeInputsOf(d, d.inputs({ cluster: c, host, clusterPublicKey: key }))));
    };
    expect(hostFacetsOf("2", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIANOTHERKEY mpi-hosts cluster")).toEqual(hostFacetsOf("1", KEY));
  });
});

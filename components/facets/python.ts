/**
 * python: mpi4py and Open MPI where MPI jobs find them. `conda`: pinned packages in the prefix
 * (installed as the login user) and the prefix's bin first on PATH for non-interactive shells;
 * `system`: the distribution's packages (Debian family), installed through sudo.
 */
import { Os, PythonKind } from "../config/types";
import { templates } from "../templates/templates";
import { defineFacet, FacetRender, managedBlock } from "./facet";
import { facetInputsRef } from "./inputSchemas";
import { renderScripts } from "./scripts";

/**
 * Shell start-up files that non-interactive ssh shells read, per OS: bash reads ~/.bashrc, zsh only ~/.zshenv.
 * zsh is the macOS default and a common login shell on Linux too: a Linux zsh user with only ~/.bashrc would
 * get the distribution's mpirun first, not the prefix's.
 */
const rcFilesByOs: Record<Os, string[]> = {
  linux: [".bashrc", ".zshenv"],
  macos: [".zshenv", ".bashrc"],
};

const systemPackages = ["openmpi-bin", "python3-mpi4py"];

/**
 * What the conda probe reports for a prefix (and its bin) that only its owner, the login user or root, can write. Its
 * bin is first on the user's PATH: anyone else who can write there runs programs as the user, and through sudo as
 * root; apply refuses such a prefix, and a refresh reports it as drift (issue 15).
 */
export const PRIVATE_PREFIX = "writable by its owner only";

/** Where python and mpirun are on a host, for the verification job. */
export function pythonPaths(kind: PythonKind, prefix: string): { python: string; mpirun: string } {
  return kind === "conda"
    ? { python: `${prefix}/bin/python`, mpirun: `${prefix}/bin/mpirun` }
    : { python: "/usr/bin/python3", mpirun: "/usr/bin/mpirun" };
}

/** Conda installs download and unpack hundreds of MB: far longer than the other facets' steps. */
const CONDA_TIMEOUT_SECONDS = 1800;

type PythonInputs =
  | { host: string; kind: "system" }
  | { host: string; kind: "conda"; os: Os; prefix: string; channel: string; mpi4py: string; openmpi: string };

export const python = defineFacet<PythonInputs>({
  name: "python",
  appliesTo: () => true,
  // Distro packages install through sudo; a conda prefix belongs to the login user.
  privileged: (inputs) => inputs.kind === "system",
  probePrivileged: false,
  timeoutSeconds: CONDA_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => {
    const { kind, channel, mpi4py, openmpi } = cluster.python;
    return kind === "system"
      ? { host: host.name, kind }
      : { host: host.name, kind, os: host.os, prefix: host.pythonPrefix, channel, mpi4py, openmpi };
  },
  inputSchema: facetInputsRef("pythonInputs"),
  render(inputs): FacetRender {
    const { host } = inputs;
    if (inputs.kind === "system") {
      const desired = { packages: systemPackages.map((p) => `${p} installed\n`).join("") };
      return {
        desired,
        files: { packages: desired.packages },
        scripts: renderScripts("python/system", host, "python", { packages: systemPackages.join(" ") }),
      };
    }
    const { prefix, channel, mpi4py, openmpi } = inputs;
    const rcFiles = rcFilesByOs[inputs.os];
    const pathBlock = managedBlock(templates().render("python/pathBlock", { prefix }));
    const blocks = Object.fromEntries(rcFiles.map((rc) => [rc.replace(/^\./, ""), pathBlock]));
    return {
      desired: { mpi4py, openmpi, prefixAccess: PRIVATE_PREFIX, ...blocks },
      files: {
        "conda-install": `conda install -y -q -p ${prefix} -c ${channel} --override-channels mpi4py=${mpi4py} openmpi=${openmpi}\n`,
        "path.block": pathBlock,
      },
      scripts: renderScripts("python/conda", host, "python", {
        prefix,
        channel,
        mpi4py,
        openmpi,
        pathBlock: pathBlock.replace(/\n$/, ""),
        rcFiles: rcFiles.join(" "),
        privatePrefix: PRIVATE_PREFIX,
      }),
    };
  },
});

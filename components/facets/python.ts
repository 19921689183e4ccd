/**
 * python: mpi4py and Open MPI where MPI jobs find them. `conda`: pinned packages in the prefix
 * (installed as the login user) and the prefix's bin first on PATH for non-interactive shells;
 * `system`: the distribution's packages (Debian family), installed through sudo.
 */
import { Os } from "../config/types";
import { templates } from "../templates/templates";
import { FacetDefinition, RenderedFacet } from "./facet";
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
export function pythonPaths(kind: "conda" | "system", prefix: string): { python: string; mpirun: string } {
  return kind === "conda"
    ? { python: `${prefix}/bin/python`, mpirun: `${prefix}/bin/mpirun` }
    : { python: "/usr/bin/python3", mpirun: "/usr/bin/mpirun" };
}

export const python: FacetDefinition = {
  name: "python",
  appliesTo: () => true,
  render({ cluster, host }): RenderedFacet {
    const { python: py } = cluster;
    if (py.kind === "system") {
      const desired = { packages: systemPackages.map((p) => `${p} installed\n`).join("") };
      return {
        facet: "python",
        host: host.name,
        privileged: true,
        probePrivileged: false,
        desired,
        files: { packages: desired.packages },
        scripts: renderScripts("python/system", host, "python", { packages: systemPackages.join(" ") }),
        secretEnv: [],
      };
    }
    const rcFiles = rcFilesByOs[host.os];
    const pathBlock = templates().render("python/pathBlock", { prefix: host.pythonPrefix });
    const blocks = Object.fromEntries(rcFiles.map((rc) => [rc.replace(/^\./, ""), pathBlock]));
    return {
      facet: "python",
      host: host.name,
      privileged: false,
      probePrivileged: false,
      desired: { mpi4py: py.mpi4py, openmpi: py.openmpi, prefixAccess: PRIVATE_PREFIX, ...blocks },
      files: {
        "conda-install": `conda install -y -q -p ${host.pythonPrefix} -c ${py.channel} --override-channels mpi4py=${py.mpi4py} openmpi=${py.openmpi}\n`,
        "path.block": pathBlock,
      },
      scripts: renderScripts("python/conda", host, "python", {
        prefix: host.pythonPrefix,
        channel: py.channel,
        mpi4py: py.mpi4py,
        openmpi: py.openmpi,
        pathBlock: pathBlock.replace(/\n$/, ""),
        rcFiles: rcFiles.join(" "),
        privatePrefix: PRIVATE_PREFIX,
      }),
      secretEnv: [],
    };
  },
};

/**
 * The facet provider as Pulumi sees it, and the Facet resource.
 *
 * Pulumi serializes a dynamic provider into the state, twice per resource (inputs and outputs;
 * pulumi/pulumi #8090, #13960). What it serializes here is only a loader: the operations
 * (./facetOperations) are required from the project at run time. That keeps ~23 KB of code out of
 * every facet's state, and makes refresh and destroy run the code of the checkout rather than the
 * code of the last `up` that happened to change the resource.
 *
 * The loader runs in the engine's dynamic-provider process, which has no TypeScript hook and whose
 * working directory is the Pulumi project: it looks for the operations where this file was when
 * the state was written, then in the project it runs in (a CI checkout of the same repository
 * elsewhere), and registers ts-node (transpile only) when needed.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { facetOperations } from "./facetOperations";

export type { FacetInputs, FacetOutputs } from "./facetOperations";
import type { FacetInputs, FacetOutputs } from "./facetOperations";

type Operations = typeof facetOperations;

/** Captured as plain strings by the serialized loader. */
const OPERATIONS_MODULE = path.join(__dirname, "facetOperations");
const OPERATIONS_IN_PROJECT = "components/provider/facetOperations";

function operations(): Operations {
  const g = globalThis as { __mpiHostsFacetOperations?: Operations };
  if (g.__mpiHostsFacetOperations) return g.__mpiHostsFacetOperations;
  const nodePath = require("path") as typeof import("path");
  const fs = require("fs") as typeof import("fs");
  const candidates = [OPERATIONS_MODULE, nodePath.join(process.cwd(), OPERATIONS_IN_PROJECT)];
  const found = candidates.find((c) => fs.existsSync(`${c}.ts`) || fs.existsSync(`${c}.js`));
  if (!found) {
    throw new Error(
      `mpi-hosts: the facet provider's code is neither at ${candidates[0]} (where the state was written) nor at ${candidates[1]}: ` +
        `run pulumi in the mpi-hosts project directory`,
    );
  }
  let loaded: { facetOperations: Operations };
  try {
    loaded = require(found);
  } catch (err) {
    // Outside the Pulumi program (and jest) nothing compiles TypeScript: Node reports the .ts as missing.
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND" || !fs.existsSync(`${found}.ts`)) throw err;
    const projectRoot = nodePath.resolve(found, "..", "..", "..");
    const tsNode = require(require.resolve("ts-node", { paths: [projectRoot] })) as typeof import("ts-node");
    tsNode.register({ transpileOnly: true, project: nodePath.join(projectRoot, "tsconfig.json") });
    loaded = require(found);
  }
  g.__mpiHostsFacetOperations = loaded.facetOperations;
  return loaded.facetOperations;
}

export const facetProvider: Operations = {
  // The stack config (pulumi PRs #17229, #17697), for how to log in: the state holds no key (issue 12).
  configure: async (req) => operations().configure(req),
  diff: async (id, olds, news) => operations().diff(id, olds, news),
  create: async (inputs) => operations().create(inputs),
  update: async (id, olds, news) => operations().update(id, olds, news),
  read: async (id, props) => operations().read(id, props),
  delete: async (id, props) => operations().delete(id, props),
};

export type FacetResourceArgs = { [K in keyof FacetInputs]: pulumi.Input<FacetInputs[K]> };

/** One facet of one host. */
export class Facet extends pulumi.dynamic.Resource {
  declare readonly state: pulumi.Output<FacetOutputs["state"]>;
  declare readonly lastApply: pulumi.Output<string>;
  /** When apply last ran on the host (see FacetOutputs.appliedAt); unknown in a preview that will apply. */
  declare readonly appliedAt: pulumi.Output<string | undefined>;

  constructor(name: string, args: FacetResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      facetProvider,
      name,
      { ...args, lastApply: undefined, appliedAt: undefined },
      // The connection holds no credential (issue 12): only the secret environment is secret.
      { ...opts, additionalSecretOutputs: ["secretEnv"] },
      "mpi-hosts",
      "Facet",
    );
  }
}

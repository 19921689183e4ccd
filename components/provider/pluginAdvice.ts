/**
 * What to run so that the installed provider plugin is this code: from a clone (TypeScript through ts-node) its
 * scripts/install-plugin.sh, from the npm package (compiled JavaScript) the package's `mpi-hosts plugin install`.
 */
export function reinstallPluginAdvice(file: string = __filename): string {
  return file.endsWith(".ts") ? "run scripts/install-plugin.sh in this checkout" : "run `npx mpi-hosts plugin install` in this project";
}

/**
 * Render for review from a Pulumi program: `renderForReview` for a config whose hosts may hold `pulumi.Input`s. A value
 * known only at apply (an Output, a Promise) cannot be printed: every place it goes shows `<known at apply:
 * hosts[2].address>` instead. A stack file has no such value: `mpi-hosts render` renders it as it always did.
 */
import { ClusterConfig, deferredValues, loadWithPlaceholders, placeholderOf, Variant } from "./clusterInputs";
import { ConfigError, LoadOptions } from "./config/load";
import { FileTree, renderForReview } from "./review/review";

/** The marker of a value known only at apply, as the render shows it. */
export function knownAtApply(name: string): string {
  return `<known at apply: ${name}>`;
}

/**
 * The review tree of a program's config (components/review/review.ts), with each value known only at apply marked.
 * Throws a ConfigError for a problem of the known values (those of the deferred ones are found at apply).
 */
export function renderCluster(config: ClusterConfig, options: LoadOptions = {}): FileTree {
  const deferred = deferredValues(config);
  const render = (variant: Variant): FileTree => {
    const { cluster, problems } = loadWithPlaceholders(config, deferred, variant, options);
    if (!cluster) throw new ConfigError(problems);
    const tree = renderForReview(cluster);
    if (deferred.length === 0) return tree;
    // Longest first: a host's placeholder key holds no other placeholder, but keep replacements independent of order.
    const marks = deferred
      .map((d) => ({ text: String(placeholderOf(d, variant)), mark: knownAtApply(d.name), port: d.field === "port" }))
      .sort((a, b) => b.text.length - a.text.length);
    const marked = (content: string) =>
      marks.reduce(
        (text, m) => text.replace(m.port ? new RegExp(`(?<![0-9])${m.text}(?![0-9])`, "g") : new RegExp(escape(m.text), "g"), m.mark),
        content,
      );
    return new Map([...tree].map(([file, content]) => [file, marked(content)]));
  };
  const [a, b] = [render("a"), render("b")];
  // What still differs between two placeholders depends on a deferred value in a way no marker shows (a digest of a
  // file that holds one): said as such rather than printed from a placeholder.
  return new Map(
    [...a].map(([file, content]) => [
      file,
      content === b.get(file)
        ? content
        : `${knownAtApply(deferred.map((d) => d.name).join(", "))} (derived from them: rendered at apply)\n`,
    ]),
  );
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The npm package as package.json declares it: an installable library and bin built from the sources in dist/
 * (scripts/build-package.sh), and every package the shipped code imports declared as a runtime dependency. The
 * tarball itself, installed and run outside the repository, is test/e2e/package.test.ts.
 */
import { builtinModules } from "module";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  private?: boolean;
  main: string;
  types: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The source a dist/ path is compiled from (tsconfig.build.json: rootDir ".", outDir "dist"). */
function sourceOf(compiled: string): string {
  return path.join(root, compiled.replace(/^dist\//, "").replace(/\.d\.ts$|\.js$/, ".ts"));
}

/** Folders whose code the package ships (tsconfig.build.json's include). */
const SHIPPED = ["index.ts", "components", "cli", "lab", "bench"];

/** Packages only a clone's developer commands import, lazily: `mpi-hosts bench` formats its results with prettier. */
const CLONE_ONLY: Record<string, string> = { prettier: "cli/bench.ts and bench/verify-soak.ts format the bench's results" };

function shippedFiles(rel: string): string[] {
  const full = path.join(root, rel);
  if (fs.statSync(full).isFile()) return [rel];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? shippedFiles(`${rel}/${e.name}`) : /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [`${rel}/${e.name}`] : [],
    );
}

/** The packages a file imports (static, dynamic and require), by package name. */
function packagesImported(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  // Statements only (an import or export line, or the closing line of a multi-line one), not comments or strings.
  const names = [...text.matchAll(/^(?:import|export|\})[^;"]*? from "([^".][^"]*)"|\b(?:import|require)\("([^".$][^"]*)"\)/gm)].map(
    (m) => m[1] ?? m[2],
  );
  return names.map((n) => (n.startsWith("@") ? n.split("/").slice(0, 2).join("/") : n.split("/")[0]));
}

describe("package.json", () => {
  it("is publishable: not private, and packs dist/ and the template, built by prepack", () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.files).toEqual(expect.arrayContaining(["dist/", "examples/lab/index.ts", "examples/lab/Pulumi.yaml"]));
    // Named files only: a folder would also pack what a developer's run left in it (a state, a stack file, keys).
    expect(pkg.files.filter((f: string) => f.startsWith("examples/") && f.endsWith("/"))).toEqual([]);
    expect(pkg.scripts.prepack).toBe("bash scripts/build-package.sh");
    const build = JSON.parse(fs.readFileSync(path.join(root, "tsconfig.build.json"), "utf8"));
    expect(build.compilerOptions).toMatchObject({ outDir: "dist", rootDir: ".", declaration: true });
  });

  it("points main, types and the mpi-hosts bin at the compiled library entry and command line", () => {
    expect(pkg.main).toBe("dist/components/index.js");
    expect(pkg.types).toBe("dist/components/index.d.ts");
    expect(pkg.bin).toEqual({ "mpi-hosts": "dist/cli/main.js" });
    for (const compiled of [pkg.main, pkg.types, pkg.bin["mpi-hosts"]]) expect(fs.existsSync(sourceOf(compiled))).toBe(true);
  });

  it("declares every package the shipped code imports as a runtime dependency (ts-node is none)", () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const undeclared: string[] = [];
    for (const rel of SHIPPED) {
      for (const file of shippedFiles(rel)) {
        for (const name of packagesImported(file)) {
          if (builtins.has(name) || name in pkg.dependencies || name in CLONE_ONLY) continue;
          undeclared.push(`${file}: ${name}`);
        }
      }
    }
    expect(undeclared).toEqual([]);
    expect(Object.keys(pkg.dependencies)).not.toContain("ts-node");
    expect(Object.keys(pkg.dependencies)).not.toContain("typescript");
    for (const name of Object.keys(CLONE_ONLY)) expect(pkg.devDependencies[name]).toBeDefined();
  });
});

describe("the project template (examples/lab)", () => {
  const template = JSON.parse(fs.readFileSync(path.join(root, "examples", "lab", "package.json"), "utf8"));

  it("asks for the same @pulumi/pulumi as the package, so that npm installs one copy of the SDK", () => {
    expect(template.dependencies["@pulumi/pulumi"]).toBe(pkg.dependencies["@pulumi/pulumi"]);
  });

  it("does not name mpi-hosts from the registry (not published): the README installs it from the tarball", () => {
    expect(template.dependencies["mpi-hosts"]).toBeUndefined();
  });

  it("has a program of ten lines or fewer that builds the cluster from the stack config with the package", () => {
    const program = fs.readFileSync(path.join(root, "examples", "lab", "index.ts"), "utf8");
    expect(program.trimEnd().split("\n").length).toBeLessThanOrEqual(10);
    expect(program).toContain('import { mpiClusterFromStackConfig } from "mpi-hosts";');
  });
});

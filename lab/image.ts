/** The cached Debian root filesystems that lab hosts overlay, built by lab/build-image.sh. */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const RELEASES = ["trixie", "bookworm"] as const;
export type Release = (typeof RELEASES)[number];

export function isRelease(value: string): value is Release {
  return (RELEASES as readonly string[]).includes(value);
}

/**
 * Returns the image directory for the release, building it first when it is not cached (about a minute).
 * Progress lines of the build go to `log`.
 */
export function ensureImage(release: Release, log: (line: string) => void = () => undefined): Promise<string> {
  const script = path.join(__dirname, "build-image.sh");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script, release], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      for (const line of b.toString().split("\n")) if (line.trim()) log(line.trim());
    });
    child.on("error", (e) => reject(new Error(`could not run ${script}: ${e.message}`)));
    child.on("close", (code) => {
      const image = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`building the ${release} image failed (exit ${code}): ${stderr.trim()}`));
      if (!image || !fs.existsSync(path.join(image, ".complete"))) {
        return reject(new Error(`build-image.sh ${release} printed '${image}', which is not a complete image`));
      }
      resolve(image);
    });
  });
}

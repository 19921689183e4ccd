/**
 * A file's text, or undefined when it does not exist. Any other failure (no permission, a directory where a file
 * should be) is an error naming the file: "not there" and "there but unreadable" call for different answers
 * (a missing ~/.pulumi/credentials.json means no `pulumi login`; an unreadable one needs fixing).
 */
import * as fs from "fs";
import { CommandFailure } from "./command";

export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a path component is a file, so this file cannot exist either.
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new CommandFailure(`${file}: cannot read it (${code ?? (err as Error).message})`);
  }
}

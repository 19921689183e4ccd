/**
 * The name of a lab a measurement starts: what it measures, then this process's id. Lab names are global on the
 * machine and startLab stops a lab of the same name first, so two people benching at once with fixed names stopped
 * each other's labs; a lab left by a killed run keeps its name (`npm run lab -- down --name NAME` takes it away).
 */
import { checkLabName } from "../lab/names";

export function benchLabName(what: string, pid: number = process.pid): string {
  const name = `${what}-${pid}`;
  const problem = checkLabName(name);
  if (problem) throw new Error(`bench: ${problem}`);
  return name;
}

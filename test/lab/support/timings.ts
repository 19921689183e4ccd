/**
 * Wall time of the slow steps of a lab or e2e test file (a lab start, an apply over SSH, a pulumi run), printed once
 * after the file, so that a slow step shows in the test log (and in closing notes) without a profiler.
 */
export class Timings {
  private readonly lines: string[] = [];
  constructor(private readonly title: string) {}

  /** Runs `fn` and records how long it took under `label`, whether it passed or threw. */
  async time<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      this.record(label, Date.now() - started);
    }
  }

  /** Records a duration measured elsewhere: milliseconds below 10 s (script runs), seconds above. */
  record(label: string, ms: number): void {
    this.lines.push(`${label}: ${ms < 10000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`);
  }

  /** Records a line as it is (a figure that is not one step's duration: "killed after 61.0 s (exit 124)"). */
  note(line: string): void {
    this.lines.push(line);
  }

  report(): string {
    return `${this.title}\n  ${this.lines.join("\n  ")}\n`;
  }

  /** Prints the report (for an afterAll). */
  print(): void {
    console.log(this.report());
  }
}

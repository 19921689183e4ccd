export async function run(): Promise<number> {
  throw new Error("render: not yet built");
}

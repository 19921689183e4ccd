/** Two projects: fast unit tests next to the code, and lab tests against real hosts (root, namespaces). */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
};
module.exports = {
  // Lab tests start real hosts and run mpirun: minutes, not seconds.
  testTimeout: 600000,
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: [
        "<rootDir>/{components,cli,lab}/**/*.test.ts",
        "<rootDir>/test/unit/**/*.test.ts",
        "<rootDir>/test/security/**/*.unit.test.ts",
      ],
    },
    {
      ...common,
      displayName: "lab",
      testMatch: ["<rootDir>/test/lab/**/*.test.ts", "<rootDir>/test/security/**/*.lab.test.ts"],
    },
    {
      ...common,
      displayName: "e2e",
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
    },
  ],
};

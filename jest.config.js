/** Two projects: fast unit tests next to the code, and lab tests against real hosts (root, namespaces). */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
};
module.exports = {
  // Lab tests start real hosts and run mpirun: minutes, not seconds.
  testTimeout: 600000,
  // Known long lab and e2e files first, also on a clean clone (the stages run two files at a time).
  testSequencer: require("path").join(__dirname, "test/support/testSequencer.js"),
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

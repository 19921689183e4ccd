/** Two projects: fast unit tests next to the code, and lab tests against real hosts (root, namespaces). */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true }] },
};
module.exports = {
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/{components,cli,lab}/**/*.test.ts", "<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      ...common,
      displayName: "lab",
      testMatch: ["<rootDir>/test/lab/**/*.test.ts"],
      testTimeout: 600000,
    },
  ],
};

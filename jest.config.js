/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", {
      jsc: {
        parser: { syntax: "typescript", decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: "es2022",
      },
      module: { type: "commonjs" },
    }],
    // ESM-only packages, compiled to CommonJS for jest: its own require(esm) needs --experimental-vm-modules.
    "^.+\\.js$": ["@swc/jest", { jsc: { parser: { syntax: "ecmascript" }, target: "es2022" }, module: { type: "commonjs" } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!(p-limit|yocto-queue|pg-boss|serialize-error|non-error)/)"],
  setupFiles: ["reflect-metadata", "<rootDir>/test/support/secret-keyring.ts"],
  // With TEST_DATABASE_URL unset, one embedded PostgreSQL serves the whole run.
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  testTimeout: 30000,
  maxWorkers: 2,
};

/**
 * Four suites: unit (*.spec.ts next to the code), workflows (test/workflows, test/replay), end-to-end (test/e2e)
 * and the harness's own tests (test/support). The last three talk to real servers: test/support/global-setup.ts
 * starts one Temporal dev server and one MinIO for the whole run (only when one of those projects has tests to
 * run: `unit` names a setup of its own, because jest runs a setup module shared by projects only once) and
 * test/support/env.ts hands their addresses to the tests. Typed arrays are shared with the real Node
 * realm (test/support/node-environment.js) so onnxruntime-node's results pass its own instanceof checks.
 */
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/test/support/tsconfig.jest.json' }];
const base = {
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: '<rootDir>/test/support/node-environment.js',
  // Stops what either setup started, once.
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
// A scratch directory for the run everywhere; the shared servers only for the projects that need them.
const unit = { ...base, globalSetup: '<rootDir>/test/support/global-setup-unit.ts' };
const withServers = {
  ...base,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeout.ts'],
};
module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...unit, displayName: 'unit', testMatch: ['<rootDir>/{libs,activities,api,worker,workflows}/**/*.spec.ts'] },
    { ...withServers, displayName: 'workflows', testMatch: ['<rootDir>/test/{workflows,replay}/**/*.test.ts'] },
    { ...withServers, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    { ...withServers, displayName: 'support', testMatch: ['<rootDir>/test/support/**/*.test.ts'] },
  ],
};

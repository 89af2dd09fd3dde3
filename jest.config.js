// Jest runs our TypeScript as native ES modules: @kubernetes/client-node 1.x is ESM-only and
// CommonJS Jest cannot load it (docs/adr/0002-esm-jest.md). Type checking is `npm run typecheck`.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
  // Local control planes live in .cluster/ (etcd's member/snap/*.snap would pass for obsolete
  // Jest snapshots); build output in dist/.
  modulePathIgnorePatterns: ['<rootDir>/.cluster/', '<rootDir>/dist/'],
};
export default {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/unit-setup.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
      // testTimeout is global-only in Jest 30 (ignored here); the setup file sets 120 s instead.
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-setup.ts'],
    },
    {
      // Containers that really run, on the cluster's real kubelet nodes (the same cluster as the
      // integration project: its global setup asks for them). Skipped, saying why, on a machine
      // that cannot run a kubelet (test/support/real-node.ts).
      ...common,
      displayName: 'realnode',
      testMatch: ['<rootDir>/test/realnode/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-setup.ts'],
    },
  ],
};

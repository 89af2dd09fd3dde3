// A complete, valid operator configuration for unit tests.
import { parseConfig, type OperatorConfig } from '../../src/config.js';

export function unitConfig(overrides: Record<string, unknown> = {}): OperatorConfig {
  return parseConfig({
    providerId: 'example',
    namespace: 'ucloud-jobs',
    ucloud: { coreUrl: 'http://127.0.0.1:1', publicKey: 'unused-in-this-test', refreshToken: 'unused-in-this-test' },
    products: [
      { id: 'example-compute-1', category: 'example-compute', cpu: 1, memoryInGigs: 2 },
      { id: 'example-compute-8', category: 'example-compute', cpu: 8, memoryInGigs: 16 },
      { id: 'u1-gpu-1', category: 'u1-gpu', cpu: 8, memoryInGigs: 32, gpu: 1, unitOfPrice: 'CREDITS_PER_HOUR' },
    ],
    ...overrides,
    // As the chart sets it, unless a test's jobs section says otherwise.
    jobs: { invocationRenderer: { image: 'registry.example/ucloud-operator:test' }, ...((overrides.jobs as Record<string, unknown> | undefined) ?? {}) },
  });
}

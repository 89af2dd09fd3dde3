// The operator stack of harness.ts (namespace, UCloud/Core emulator, operator in-process) for the
// tests of a file, started and stopped by Jest's hooks instead of each file writing them out.
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import { startStack, type TestStack } from './harness.js';

/** `each`: a fresh stack for every test; `all`: one for all tests of the describe. Call the result inside a test. */
export function useStack(scope: 'each' | 'all', overrides: Record<string, unknown> = {}): () => TestStack {
  let stack: TestStack | undefined;
  (scope === 'each' ? beforeEach : beforeAll)(async () => {
    stack = await startStack(overrides);
  });
  (scope === 'each' ? afterEach : afterAll)(async () => {
    await stack?.stop();
    stack = undefined;
  }, 120_000);
  return () => {
    if (!stack) throw new Error('useStack: the stack exists only while a test runs');
    return stack;
  };
}

/**
 * For tests that each start a stack of their own configuration: the result starts one (as
 * startStack does) and it is stopped after the test, whatever the test did.
 */
export function stackStoppedAfterEach(timeoutMs = 120_000): typeof startStack {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  }, timeoutMs);
  return async (...args) => (stack = await startStack(...args));
}

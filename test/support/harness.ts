// Per-test helpers for integration tests: a fresh namespace, the operator running in-process
// against the real apiserver, and a UCloud/Core emulator on loopback.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseConfig, type OperatorConfig } from '../../src/config.js';
import { createClientNodePort } from '../../src/k8s/client-node-port.js';
import type { KubePort } from '../../src/k8s/kube-port.js';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../src/operator.js';
import { KUBECONFIG_PATH, createReadyNamespace } from './cluster-env.js';
import { collectLogs } from './logs.js';
import { UCloudCoreEmulator } from './ucloud-core-emulator.js';

export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG_PATH);
  return kc;
}

export interface TestNamespace {
  name: string;
  kc: KubeConfig;
  kube: KubePort;
  core: CoreV1Api;
  delete(): Promise<void>;
}

/** A new namespace with its default ServiceAccount in place (admission needs it for pods). */
export async function createTestNamespace(prefix = 't'): Promise<TestNamespace> {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await createReadyNamespace(kc, name, { 'ucloud.dk/test': 'true' }, 200);
  return {
    name,
    kc,
    kube: createClientNodePort(kc),
    core,
    delete: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/** Products of the test cluster; categories match the kwok nodes' ucloud.dk/machine labels. */
export const TEST_PRODUCTS = [
  { id: 'example-compute-1', category: 'example-compute', cpu: 1, memoryInGigs: 2, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
  { id: 'example-compute-8', category: 'example-compute', cpu: 8, memoryInGigs: 16, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
  { id: 'u1-standard-1', category: 'u1-standard', cpu: 1, memoryInGigs: 4, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
  { id: 'u1-gpu-1', category: 'u1-gpu', cpu: 8, memoryInGigs: 32, gpu: 1, unitOfPrice: 'CREDITS_PER_HOUR' },
] as const;

export const TEST_RENDERER_IMAGE = 'registry.example/ucloud-operator:test';

/**
 * The raw configuration of an operator serving `core` (the emulator) for jobs in `namespace`,
 * listening on loopback ports the kernel picks. `credentials: false` leaves the refresh token and
 * Core's key out (a child process gets them as files, as from the chart's Secret).
 */
export function emulatorConfig(namespace: string, core: UCloudCoreEmulator, credentials = true): Record<string, unknown> {
  return {
    providerId: core.providerId,
    namespace,
    ucloud: { coreUrl: core.url, ...(credentials ? { publicKey: core.publicKeyBase64Der(), refreshToken: core.refreshToken } : {}) },
    http: { host: '127.0.0.1', port: 0, probePort: 0 },
  };
}

export function testConfig(ns: string, core: UCloudCoreEmulator, overrides: Record<string, unknown> = {}): OperatorConfig {
  const base: Record<string, unknown> = {
    ...emulatorConfig(ns, core),
    products: TEST_PRODUCTS,
    reconciler: { workers: 4, resyncSeconds: 30 },
    reporting: { batchWindowMs: 20 },
    accounting: { intervalSeconds: 60 },
    // As the chart sets it: jinja (v2) jobs get an init container of this image (kwok runs none).
    jobs: { invocationRenderer: { image: TEST_RENDERER_IMAGE } },
  };
  return parseConfig(deepMerge(base, overrides));
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export interface TestStack {
  ns: TestNamespace;
  core: UCloudCoreEmulator;
  operator: RunningOperator;
  config: OperatorConfig;
  logs: string[];
  stop(): Promise<void>;
}

/** Namespace + Core emulator + operator (adapter and reconciler) in-process. `operator` adds
 *  operator options (e.g. loopback stand-ins for the pod-log and exec APIs). */
export async function startStack(
  overrides: Record<string, unknown> = {},
  operator: (ns: TestNamespace) => Partial<Omit<OperatorOptions, 'config' | 'kc'>> = () => ({}),
): Promise<TestStack> {
  const ns = await createTestNamespace();
  const core = await UCloudCoreEmulator.start({ providerId: 'example' });
  const config = testConfig(ns.name, core, overrides);
  const logs = collectLogs();
  const running = await startOperator({ ...operator(ns), config, kc: ns.kc });
  return {
    ns,
    core,
    operator: running,
    config,
    logs: logs.lines,
    stop: async () => {
      await running.stop();
      await core.close();
      logs.stop();
      await ns.delete();
    },
  };
}

/** Polls until `probe` returns a value (not undefined/false) or the timeout passes. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

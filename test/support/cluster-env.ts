// Where the test control plane lives. Global setup starts it once per run (scripts/cluster-up) and
// publishes its kubeconfig through this file's paths; tests only ever dial 127.0.0.1.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);
export const CLUSTER_DIR = process.env.UCLOUD_TEST_CLUSTER_DIR ?? resolve(REPO, '.cluster/test');
export const KUBECONFIG_PATH = resolve(CLUSTER_DIR, 'kubeconfig');

/** Parses the KEY=VALUE lines scripts/cluster-up writes to DIR/cluster.env. */
export function parseClusterEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(?:export\s+)?([A-Z0-9_]+)=["']?(.*?)["']?$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The test control plane's DIR/cluster.env, or {} before global setup wrote it. */
export function clusterEnv(): Record<string, string> {
  const file = resolve(CLUSTER_DIR, 'cluster.env');
  return existsSync(file) ? parseClusterEnv(readFileSync(file, 'utf8')) : {};
}

/**
 * Creates a namespace and waits (up to `attempts` x 100 ms) for its default ServiceAccount: pod
 * admission needs it, and the controller-manager creates it a moment after the namespace.
 */
export async function createReadyNamespace(kc: KubeConfig, name: string, labels: Record<string, string>, attempts: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels } } });
  for (let i = 0; i < attempts; i++) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export function kubectlPath(): string {
  const bin = clusterEnv().BIN ?? clusterEnv().BIN_DIR;
  return bin ? resolve(bin, 'kubectl') : 'kubectl';
}

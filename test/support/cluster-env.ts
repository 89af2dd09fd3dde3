// Where the test control plane lives. Global setup starts it once per run (scripts/cluster-up) and
// publishes its kubeconfig through this file's paths; tests only ever dial 127.0.0.1.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);
export const CLUSTER_DIR = process.env.UCLOUD_TEST_CLUSTER_DIR ?? resolve(REPO, '.cluster/test');
export const KUBECONFIG_PATH = resolve(CLUSTER_DIR, 'kubeconfig');

/** Parses DIR/cluster.env (KEY=VALUE lines written by scripts/cluster-up). */
export function clusterEnv(): Record<string, string> {
  const file = resolve(CLUSTER_DIR, 'cluster.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z0-9_]+)=["']?(.*?)["']?$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export function kubectlPath(): string {
  const bin = clusterEnv().BIN ?? clusterEnv().BIN_DIR;
  return bin ? resolve(bin, 'kubectl') : 'kubectl';
}

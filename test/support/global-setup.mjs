// Jest global setup for integration tests: one real control plane per test run (etcd,
// kube-apiserver, controller-manager, scheduler, kwok) on 127.0.0.1, with the CRD installed.
// Plain JS: Jest loads global setup natively, without the test transform.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const CLUSTER_DIR = process.env.UCLOUD_TEST_CLUSTER_DIR ?? resolve(REPO, '.cluster/test');

export default async function globalSetup() {
  const started = Date.now();
  execFileSync('bash', [resolve(REPO, 'scripts/cluster-up'), '--dir', CLUSTER_DIR], { stdio: 'inherit' });
  const env = Object.fromEntries(
    readFileSync(resolve(CLUSTER_DIR, 'cluster.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const kubectl = resolve(env.BIN, 'kubectl');
  const opts = { stdio: 'inherit', env: { ...process.env, KUBECONFIG: env.KUBECONFIG } };
  execFileSync('bash', [resolve(REPO, 'scripts/crd-install'), kubectl], opts);
  process.stdout.write(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${CLUSTER_DIR})\n`);
}

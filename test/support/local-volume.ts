// A `local` PersistentVolume on real node 0 over a host directory a test owns, pre-bound to a claim
// in the test's namespace: real storage for real-node tests, without a provisioner.
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { CLUSTER_DIR } from './cluster-env.js';
import { eventually } from './harness.js';

/** Creates the PV (named `<namespace>-<claim>`, over `dir` or a fresh test directory) and the bound
 *  claim; returns the host directory. Delete the PV afterwards (it is cluster-scoped). */
export async function localClaim(
  kc: KubeConfig,
  namespace: string,
  claim: string,
  dir = resolve(CLUSTER_DIR, 'test-volumes', `${namespace}-${claim}`),
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  mkdirSync(dir, { recursive: true });
  await core.createPersistentVolume({
    body: {
      metadata: { name: `${namespace}-${claim}`, labels: { 'ucloud.dk/test': 'true' } },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        local: { path: dir },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['realnode-0'] }] }] } },
        claimRef: { namespace, name: claim },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: claim },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: `${namespace}-${claim}`, resources: { requests: { storage: '1Gi' } } },
    },
  });
  await eventually(async () => (await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace })).status?.phase === 'Bound', `claim ${claim} bound`);
  return dir;
}

/** Deletes the PV of localClaim (the claim goes with the namespace) and its host directory. */
export async function removeLocalClaim(kc: KubeConfig, namespace: string, claim: string, dir: string | undefined): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .deletePersistentVolume({ name: `${namespace}-${claim}` })
    .catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

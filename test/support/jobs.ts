// Small helpers for integration tests to drive jobs (built by test/support/job-factory.ts) through
// the provider API and read back what the operator did.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import type { TestStack } from './harness.js';
import { eventually } from './harness.js';

type Call = { status: number; body: unknown };

export function providerCall(stack: TestStack, path: string, body: unknown): Promise<Call> {
  return stack.core.callProvider(stack.operator.adapterUrl, 'POST', `/ucloud/${stack.core.providerId}/jobs${path}`, body);
}

export const createJobs = (stack: TestStack, ...jobs: unknown[]): Promise<Call> => providerCall(stack, '', { items: jobs });
export const terminate = (stack: TestStack, id: string): Promise<Call> => providerCall(stack, '/terminate', { items: [{ id }] });
export const extend = (stack: TestStack, id: string, seconds: number): Promise<Call> =>
  providerCall(stack, '/extend', {
    items: [{ job: { id }, requestedTime: { hours: 0, minutes: Math.floor(seconds / 60), seconds: seconds % 60 } }],
  });

/** The UCloudJob of a UCloud job id, as stored now. */
export function cr(stack: TestStack, id: string): Promise<UCloudJob | undefined> {
  return stack.ns.kube.ucloudJobs.get(stack.ns.name, jobResourceName(id));
}

/** Waits until the CR satisfies `pred` and returns it. */
export function crWhen(stack: TestStack, id: string, pred: (j: UCloudJob) => boolean, what: string, timeoutMs = 60_000): Promise<UCloudJob> {
  return eventually(
    async () => {
      const j = await cr(stack, id);
      return j && pred(j) ? j : undefined;
    },
    what,
    timeoutMs,
  );
}

/** Pods of a job by rank, once all `replicas` are Running. */
export async function runningPods(stack: TestStack, id: string, replicas: number, timeoutMs = 60_000) {
  const name = jobResourceName(id);
  return eventually(
    async () => {
      const pods = (await stack.ns.kube.pods.list(stack.ns.name, `ucloud.dk/job=${name}`)).items;
      if (pods.length !== replicas || !pods.every((p) => p.status?.phase === 'Running')) return undefined;
      return [...pods].sort((a, b) => Number(a.metadata?.labels?.['ucloud.dk/rank']) - Number(b.metadata?.labels?.['ucloud.dk/rank']));
    },
    `${replicas} running pod(s) of job ${id}`,
    timeoutMs,
  );
}

/** Waits until no object of the job's pods is left. */
export function noPodsLeft(stack: TestStack, id: string, timeoutMs = 60_000): Promise<true> {
  return eventually(
    async () => (await stack.ns.kube.pods.list(stack.ns.name, `ucloud.dk/job=${jobResourceName(id)}`)).items.length === 0,
    `every pod of job ${id} to be gone`,
    timeoutMs,
  );
}

/** A PersistentVolume bound to a claim `claim` in the namespace (kwok never mounts it). */
export async function boundSharedClaim(kc: KubeConfig, namespace: string, claim: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const pv = `${namespace}-${claim}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pv, labels: { 'ucloud.dk/test': 'true' } },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        hostPath: { path: `/tmp/${pv}` },
        claimRef: { namespace, name: claim },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: claim },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
    },
  });
  await eventually(async () => (await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace })).status?.phase === 'Bound', `claim ${claim} bound`);
}

export async function deletePersistentVolume(kc: KubeConfig, namespace: string, claim: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .deletePersistentVolume({ name: `${namespace}-${claim}` })
    .catch(() => undefined);
}

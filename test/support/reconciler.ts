// The reconciler over the in-memory apiserver (FakeKube), wired as the controller wires it: jobs
// and pods read from the fake's objects instead of informer caches, no outbox or final-job
// listeners. A test overrides only what it is about (its config, clock, pod or child caches).
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_JOB, type UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import { Reconciler, type ReconcilerDeps } from '../../src/controller/reconciler.js';
import { rootLogger } from '../../src/observability/log.js';
import { unitConfig } from './config.js';
import type { FakeKube } from './fake-kube.js';
import { NS } from './job-factory.js';

/** The job's pods as the pod cache would list them (by the job label). */
export const podsOfJob = (kube: FakeKube) => (namespace: string, name: string) =>
  kube.all<V1Pod>('Pod', namespace).filter((p) => p.metadata?.labels?.[LABEL_JOB] === name);

export function reconcilerOver(kube: FakeKube, overrides: Partial<ReconcilerDeps> = {}): Reconciler {
  return new Reconciler({
    kube,
    config: unitConfig({ namespace: NS }),
    logger: rootLogger,
    getJob: (namespace, name) => kube.peek<UCloudJob>('UCloudJob', namespace, name),
    listJobs: () => kube.all<UCloudJob>('UCloudJob', NS),
    podsOf: podsOfJob(kube),
    ...overrides,
  });
}

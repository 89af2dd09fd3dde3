// A multi-rank job's gang for Kubernetes' native gang scheduling (docs/adr/0025): one PodGroup
// (scheduling.k8s.io/v1alpha2) named as the job, gang policy minCount = replicas, owned by the
// UCloudJob. The scheduler's GangScheduling plugin admits none of the job's pods until all of them
// exist (PreEnqueue) and binds them only once every one has a node (Permit), and kube-scheduler
// 1.36 places a pod group in one pod-group scheduling cycle (pkg/scheduler/schedule_one_podgroup.go):
// no rank holds a node while another waits. A standalone PodGroup needs no Workload: its
// podGroupTemplateRef is optional (k8s.io/api scheduling/v1alpha2 types.go, PodGroupSpec).
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import { POD_GROUP_API_VERSION, type PodGroup } from '../../api/scheduling/pod-group.js';
import type { OperatorConfig } from '../../config.js';
import { childMetadata, ownerReference } from './owner.js';

/**
 * Whether the job gets a PodGroup. A one-rank job does not: a single pod is already placed all or
 * nothing, and a PodGroup would cost an object and a call per job (10,000-job sites run mostly
 * one-rank jobs) for no change in what the scheduler does. It still waits its turn (wait-queue.ts).
 */
export function needsPodGroup(job: UCloudJob): boolean {
  return job.spec.replicas > 1;
}

/** The PodGroup's name: the job's own resource name (a DNS subdomain, as schedulingGroup needs). */
export function podGroupName(job: UCloudJob): string {
  return job.metadata.name;
}

export function podGroupFor(job: UCloudJob, config: OperatorConfig): PodGroup {
  const name = podGroupName(job);
  const { namespace, labels } = childMetadata(job, name, config.jobs.podLabels);
  return {
    apiVersion: POD_GROUP_API_VERSION,
    kind: 'PodGroup',
    metadata: { name, namespace, labels, ownerReferences: [ownerReference(job)] },
    spec: { schedulingPolicy: { gang: { minCount: job.spec.replicas } } },
  };
}

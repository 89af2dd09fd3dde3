// A job's Kueue Workload (jobs.gang.backend kueue, docs/adr/0025): one pod set of `replicas` pods,
// each sized as the job's rank pods are, in the LocalQueue the site's mapping picks, owned by the
// UCloudJob. Kueue reserves quota for the whole pod set at once or not at all, so the operator
// creates a job's pods only once the Workload is admitted: all ranks or none. What an admission
// means for the pods is what Kueue's own job integrations apply (sigs.k8s.io/kueue
// pkg/podset/podset.go FromAssignment): each assigned ResourceFlavor's nodeLabels as nodeSelector
// and its tolerations, plus the nodeSelector and tolerations of admission checks' podSetUpdates.
// Pure functions: the reconciler reads and writes, this decides.
import type { V1Toleration } from '@kubernetes/client-node';
import type { UCloudJob, UCloudJobState } from '../../api/v1alpha1/ucloudjob.js';
import { KUEUE_API_VERSION, WorkloadCondition, type KueueCondition, type ResourceFlavor, type Workload } from '../../api/kueue/workload.js';
import type { OperatorConfig } from '../../config.js';
import { childMetadata } from './owner.js';
import { buildPod } from './pod-builder.js';

/** The pod set's name: Kueue's own single-pod-set integrations (batch/Job, pod groups) use "main". */
export const POD_SET = 'main';

/** The Workload's name: the job's own resource name. */
export function workloadName(job: UCloudJob): string {
  return job.metadata.name;
}

/**
 * The LocalQueue a job goes to: `projectQueueName` with `{project}` replaced by the job's UCloud
 * project, for jobs in a project when it is set, else `queueName`. A project id that is not a DNS
 * label (UCloud's are UUIDs, which are) is lower-cased and its other characters become '-'.
 */
export function kueueQueueName(job: UCloudJob, config: OperatorConfig): string {
  const { queueName, projectQueueName } = config.jobs.gang.kueue;
  const project = job.spec.owner.project;
  if (!project || !projectQueueName) return queueName;
  const label = project
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return projectQueueName
    .replaceAll('{project}', label)
    .slice(0, 253)
    .replace(/[-.]+$/, '');
}

export function workloadFor(job: UCloudJob, config: OperatorConfig): Workload {
  const name = workloadName(job);
  const { namespace, labels, ownerReferences } = childMetadata(job, name, config.jobs.podLabels);
  // Every rank's pod is built alike but for its rank: rank 0's resources, placement and runtime
  // class are what Kueue must count (requests, nodeSelector and tolerations for flavor matching,
  // the RuntimeClass's overhead).
  const pod = buildPod(job, 0, config).spec!;
  const user = pod.containers[0]!;
  const spec: Record<string, unknown> = {
    restartPolicy: 'Never',
    containers: [{ name: user.name, image: user.image, resources: user.resources }],
    ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
    ...(pod.runtimeClassName ? { runtimeClassName: pod.runtimeClassName } : {}),
  };
  return {
    apiVersion: KUEUE_API_VERSION,
    kind: 'Workload',
    metadata: { name, namespace, labels, ownerReferences: ownerReferences as Workload['metadata']['ownerReferences'] },
    spec: { queueName: kueueQueueName(job, config), podSets: [{ name: POD_SET, count: job.spec.replicas, template: { spec } }] },
  };
}

const conditionOf = (w: Workload | undefined, type: string): KueueCondition | undefined => w?.status?.conditions?.find((c) => c.type === type);

/** Admitted: quota reserved and every admission check passed (Kueue's Admitted condition). */
export function isAdmitted(w: Workload | undefined): boolean {
  return conditionOf(w, WorkloadCondition.Admitted)?.status === 'True' && w?.status?.admission !== undefined;
}

/** Kueue has evicted the Workload (Evicted=True): its message and when, if so. */
export function evictionOf(w: Workload | undefined): { message: string; at: number } | undefined {
  const c = conditionOf(w, WorkloadCondition.Evicted);
  if (c?.status !== 'True') return undefined;
  return { message: `${c.reason ?? 'Evicted'}: ${c.message ?? ''}`.replace(/: $/, ''), at: Date.parse(String(c.lastTransitionTime ?? '')) || Date.now() };
}

export function isFinished(w: Workload | undefined): boolean {
  return conditionOf(w, WorkloadCondition.Finished)?.status === 'True';
}

/** The ResourceFlavors the admission assigned (their nodeLabels and tolerations apply to the pods). */
export function admittedFlavors(w: Workload): string[] {
  const names = new Set<string>();
  for (const a of w.status?.admission?.podSetAssignments ?? []) for (const f of Object.values(a.flavors ?? {})) names.add(f);
  return [...names].sort();
}

/** What the admission adds to each pod: the flavors' and the admission checks' nodeSelector and tolerations. */
export function admittedPlacement(w: Workload, flavors: readonly ResourceFlavor[]): { nodeSelector: Record<string, string>; tolerations: V1Toleration[] } {
  const nodeSelector: Record<string, string> = {};
  const tolerations: V1Toleration[] = [];
  for (const f of flavors) {
    Object.assign(nodeSelector, f.spec?.nodeLabels ?? {});
    tolerations.push(...(f.spec?.tolerations ?? []));
  }
  for (const check of w.status?.admissionChecks ?? []) {
    for (const u of check.podSetUpdates ?? []) {
      if (u.name !== POD_SET) continue;
      Object.assign(nodeSelector, u.nodeSelector ?? {});
      tolerations.push(...(u.tolerations ?? []));
    }
  }
  return { nodeSelector, tolerations };
}

/**
 * Why a job waits, in Kueue's words: its QuotaReserved=False message ("couldn't assign flavors to
 * pod set main: insufficient unused quota for cpu in flavor default, 4 more needed"), or, admitted
 * for quota but not yet Admitted, the admission checks; before Kueue has looked, only the queue.
 */
export function kueueWaitingText(queue: string, w: Workload | undefined): string {
  const head = `Waiting for Kueue admission in queue ${queue}`;
  const reserved = conditionOf(w, WorkloadCondition.QuotaReserved);
  if (reserved?.status === 'True') return `${head}: quota reserved, waiting for admission checks`;
  const why = reserved?.message?.trim();
  return (why ? `${head}: ${why}` : head).slice(0, 1000);
}

/** The Finished condition for a job that has ended (Kueue's reasons: Succeeded, Failed). */
export function finishedCondition(state: UCloudJobState | undefined, now: Date): KueueCondition {
  const ok = state === 'SUCCESS';
  return {
    type: WorkloadCondition.Finished,
    status: 'True',
    reason: ok ? 'Succeeded' : 'Failed',
    message: `The UCloud job ended ${state ?? ''}`.trim(),
    lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

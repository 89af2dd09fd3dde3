// The kueue gang backend's side of a reconcile (docs/adr/0025): a job's Workload is created before
// anything else of the job, its pods only once Kueue has admitted it (then with the admission's
// nodeSelector and tolerations), it is marked Finished once none of the job's pods holds resources
// any more (Kueue gives its quota to the next Workload), and deleted with the job's other children.
// Reads come from the Workload cache when the controller keeps one (a Workload watch wakes the job
// when Kueue admits it), else from the apiserver.
import type { V1Pod, V1Toleration } from '@kubernetes/client-node';
import type { ResourceFlavor, Workload } from '../api/kueue/workload.js';
import type { UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';
import { isNotFound, toKubeError } from '../k8s/errors.js';
import type { KubePort } from '../k8s/kube-port.js';
import {
  admittedFlavors,
  admittedPlacement,
  evictionOf,
  finishedCondition,
  isAdmitted,
  isFinished,
  kueueQueueName,
  kueueWaitingText,
  workloadFor,
  workloadName,
} from './desired/workload-builder.js';

export interface KueueState {
  admitted: boolean;
  /** Why the job waits, in Kueue's words (the job's status text while it is not admitted). */
  text: string;
  workload?: Workload;
}

export class KueueAdmission {
  constructor(
    private readonly kube: KubePort,
    private readonly config: OperatorConfig,
    private readonly workloadOf?: (namespace: string, name: string) => Workload | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Where the job stands with Kueue; creates its Workload when there is none. A job that already
   * has pods was admitted before (its pods are created only then): it is not asked again.
   */
  async state(job: UCloudJob, hasPods: boolean): Promise<KueueState> {
    const queue = kueueQueueName(job, this.config);
    let workload = await this.get(job);
    if (hasPods) return { admitted: true, text: '', workload };
    if (!workload) workload = (await this.kube.workloads.create(job.metadata.namespace!, workloadFor(job, this.config))).object;
    const admitted = isAdmitted(workload);
    return { admitted, text: admitted ? '' : kueueWaitingText(queue, workload), workload };
  }

  /** A started job whose Workload Kueue has evicted (preemption, a stopped queue): it ends (job-planner). */
  async preempted(job: UCloudJob): Promise<{ message: string; at: number } | undefined> {
    return evictionOf(await this.get(job));
  }

  /** What an admitted Workload adds to each pod (Kueue's FromAssignment: the flavors' nodeLabels and tolerations). */
  async placement(workload: Workload | undefined): Promise<{ nodeSelector: Record<string, string>; tolerations: V1Toleration[] } | undefined> {
    if (!workload || !isAdmitted(workload)) return undefined;
    const flavors: ResourceFlavor[] = [];
    for (const name of admittedFlavors(workload)) {
      const flavor = await this.kube.getResourceFlavor(name);
      // Kueue admitted with it a moment ago; gone now, the pods would go where the flavor forbids.
      if (!flavor) throw new Error(`ResourceFlavor ${name} of the Workload's admission does not exist`);
      flavors.push(flavor);
    }
    return admittedPlacement(workload, flavors);
  }

  /**
   * A job that has ended: its Workload is marked Finished once none of its pods still runs (a
   * terminating pod keeps its node until it is gone), and deleted once the job has no pods at all.
   */
  async release(job: UCloudJob, pods: readonly V1Pod[], gone: boolean): Promise<void> {
    const ns = job.metadata.namespace!;
    if (gone) {
      await this.kube.workloads.delete(ns, workloadName(job));
      return;
    }
    const holding = pods.some((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    if (holding) return;
    const workload = await this.get(job);
    if (!workload || isFinished(workload)) return;
    const conditions = [...(workload.status?.conditions ?? []).filter((c) => c.type !== 'Finished'), finishedCondition(job.status?.state, this.now())];
    try {
      await this.kube.replaceWorkloadStatus({ ...workload, status: { ...workload.status, conditions } });
    } catch (e) {
      // Deleted meanwhile: nothing to finish. A conflict (Kueue wrote) retries with the controller's backoff.
      if (!isNotFound(toKubeError(e))) throw e;
    }
  }

  private async get(job: UCloudJob): Promise<Workload | undefined> {
    const ns = job.metadata.namespace!;
    const name = workloadName(job);
    if (!this.workloadOf) return this.kube.workloads.get(ns, name);
    // A cached Workload of an earlier job of the same name (deleted and recreated) is not this job's.
    const cached = this.workloadOf(ns, name);
    return cached?.metadata.ownerReferences?.some((o) => o.uid === job.metadata.uid) ? cached : undefined;
  }
}

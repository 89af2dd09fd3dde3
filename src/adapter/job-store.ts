// The adapter's view of UCloudJobs: looked up by UCloud job id, changed only by read-modify-write
// with a resourceVersion precondition. The adapter writes spec only; status is the reconciler's.
import { jobResourceName } from '../api/v1alpha1/names.js';
import type { UCloudJob, UCloudJobSpec } from '../api/v1alpha1/ucloudjob.js';
import { isConflict, isNotFound } from '../k8s/errors.js';
import type { KubePort } from '../k8s/kube-port.js';

const CONFLICT_ATTEMPTS = 5;

export class JobStore {
  constructor(
    private readonly kube: KubePort,
    readonly namespace: string,
  ) {}

  /** The UCloudJob of a UCloud job id. Long ids share a hashed name space, so the id is checked:
   *  a different job under the same name is never mistaken for this one. */
  async get(jobId: string): Promise<UCloudJob | undefined> {
    const cr = await this.kube.ucloudJobs.get(this.namespace, jobResourceName(jobId));
    return cr?.spec?.jobId === jobId ? cr : undefined;
  }

  /**
   * Applies `change` to the job's spec: it gets a copy of the current object and returns the new
   * spec, or undefined when there is nothing to do. A conflicting write is retried on a fresh
   * read (so `change` must decide from what it is given). Undefined when the job does not exist.
   */
  async updateSpec(jobId: string, change: (current: UCloudJob) => UCloudJobSpec | undefined): Promise<UCloudJob | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(jobId);
      if (!current) return undefined;
      const spec = change(structuredClone(current));
      if (!spec) return current;
      try {
        return await this.kube.ucloudJobs.replace({ ...current, spec });
      } catch (e) {
        if (isNotFound(e)) return undefined;
        if (!isConflict(e) || attempt >= CONFLICT_ATTEMPTS) throw e;
      }
    }
  }
}

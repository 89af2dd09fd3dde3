// Labels and the controller ownerReference every child of a UCloudJob carries: the labels let
// informers find children by job, the ownerReference lets Kubernetes garbage-collect them when
// the UCloudJob goes (operator-conventions §2.4).
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { jobIdLabelValue } from '../../api/v1alpha1/names.js';
import { API_VERSION, KIND, LABEL_JOB, LABEL_JOB_ID, LABEL_MANAGED_BY, MANAGED_BY, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';

/** A UCloudJob that has been stored: the only kind that can own children. */
export interface JobIdentity {
  name: string;
  namespace: string;
  uid: string;
}

/**
 * Name, namespace and uid of a stored UCloudJob. Throws for a job that was never stored: the
 * apiserver rejects an ownerReference without a uid, and an owner must share its children's
 * namespace, so building children for such a job is a programming error better seen at once.
 */
export function jobIdentity(job: UCloudJob): JobIdentity {
  const { name, namespace, uid } = job.metadata;
  if (!namespace || !uid) {
    throw new Error(`UCloudJob ${name} has no ${!namespace ? 'namespace' : 'uid'}: only a stored UCloudJob can own children`);
  }
  return { name, namespace, uid };
}

export function childLabels(job: UCloudJob): Record<string, string> {
  return {
    [LABEL_JOB]: job.metadata.name,
    [LABEL_JOB_ID]: jobIdLabelValue(job.spec.jobId),
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

export function ownerReference(job: UCloudJob): V1OwnerReference {
  const { name, uid } = jobIdentity(job);
  return { apiVersion: API_VERSION, kind: KIND, name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * Metadata of a child. `extraLabels` (site labels) go first so that the operator's own labels
 * always win: a site label must never be able to re-parent a child to another job.
 */
export function childMetadata(job: UCloudJob, name: string, extraLabels: Record<string, string> = {}, ownLabels: Record<string, string> = {}): V1ObjectMeta {
  return {
    name,
    namespace: jobIdentity(job).namespace,
    labels: { ...extraLabels, ...childLabels(job), ...ownLabels },
    ownerReferences: [ownerReference(job)],
  };
}

// The one writer of status.insufficientFunds ("no credits"). UCloud/Core says so in two answers:
// chargeCredits for a running job (accounting) and the credit check before a job's first pod
// (accounting.checkCreditsBeforeStart, asked by the reconciler). Both record it here; the planner
// ends the job on its next reconcile, which the mark's watch event queues (docs/adr/0028).
// Written before anything acts on it: a crash after the patch stops the job anyway, a crash
// before it asks Core again.
import type { UCloudJob, UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';

/**
 * Marks the job as out of credits. `extra`: status fields the caller writes in the same patch
 * (accounting's watermark). Returns false when the patch failed (the caller asks again later).
 */
export async function markNoCredits(kube: KubePort, logger: Logger, job: UCloudJob, extra: Partial<UCloudJobStatus> = {}): Promise<boolean> {
  const ns = job.metadata.namespace!;
  const name = job.metadata.name;
  try {
    await kube.ucloudJobs.mergePatchStatus(ns, name, { ...extra, insufficientFunds: true });
  } catch (e) {
    logger.warn('Could not record that the job has no credits left', { job: `${ns}/${name}`, err: e });
    return false;
  }
  logger.info('UCloud/Core reports insufficient funds; stopping job', { job: `${ns}/${name}`, jobId: job.spec.jobId });
  return true;
}

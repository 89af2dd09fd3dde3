// The one writer of status.unknownToCore. Reporter and accounting both learn that UCloud/Core has
// no such job (a rejected batch, isolated to this job, and JobsControl.retrieve answering 403/404);
// they record it here, and the planner ends the job on its next reconcile (docs/adr/0015).
// Written before anything acts on it, like every decision: a crash after the patch stops the job
// anyway, a crash before it finds the job refused again on the next pass.
import type { UCloudJob, UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import { JobEventRecorder, jobRef } from './job-events.js';

export interface UnknownToCore {
  call: string;
  why: string;
}

/**
 * Marks the job unknown to Core (status.unknownToCore, a Warning Event). `extra`: status fields
 * the caller writes in the same patch (accounting's watermark, so what Core accepted before it
 * forgot the job stays recorded). Returns false when the patch failed (the caller tries again).
 */
export async function markUnknownToCore(
  kube: KubePort,
  logger: Logger,
  job: UCloudJob,
  what: UnknownToCore,
  now: Date,
  extra: Partial<UCloudJobStatus> = {},
): Promise<boolean> {
  if (job.status?.unknownToCore) return true;
  const ns = job.metadata.namespace!;
  const name = job.metadata.name;
  const why = what.why.slice(0, 1000);
  try {
    await kube.ucloudJobs.mergePatchStatus(ns, name, { ...extra, unknownToCore: { at: now.toISOString(), call: what.call, why } });
  } catch (e) {
    logger.warn('Could not record that UCloud/Core does not know a job', { job: `${ns}/${name}`, err: e });
    return false;
  }
  logger.warn('UCloud/Core does not know this job; stopping it', { job: `${ns}/${name}`, jobId: job.spec.jobId, call: what.call, why });
  await new JobEventRecorder(kube, logger).record(
    jobRef(job),
    'Warning',
    'UnknownToCore',
    what.call === 'update' ? 'Report' : 'Charge',
    `UCloud/Core has no job ${job.spec.jobId} (${what.call}: ${why}); stopping its pods, nothing more is reported or charged`,
  );
  return true;
}

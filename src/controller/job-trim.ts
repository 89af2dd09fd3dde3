// The UCloudJob cache holds every job for the operator's lifetime (10,000 jobs is a design size).
// metadata.managedFields is ~40% of a job's JSON and, as dozens of nested objects, more of its heap;
// nothing here reads it, and writes that omit it leave the server's copy as it is (the apiserver
// keeps the live managedFields when an update carries none).
import type { UCloudJob } from '../api/v1alpha1/ucloudjob.js';

export function trimJob(raw: unknown): UCloudJob {
  const job = raw as UCloudJob & { metadata: { managedFields?: unknown } };
  if (job.metadata?.managedFields === undefined) return job;
  const { managedFields: _dropped, ...metadata } = job.metadata;
  return { ...job, metadata } as UCloudJob;
}

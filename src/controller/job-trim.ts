// The UCloudJob cache holds every job for the operator's lifetime (10,000 jobs is a design size),
// so it keeps what the controllers read on every pass, not the CR as stored (docs/adr/0030):
//   - metadata.managedFields is ~40% of a job's JSON and, as dozens of nested objects, more of its
//     heap; nothing reads it, and writes that omit it leave the server's copy as it is (the
//     apiserver keeps the live managedFields when an update carries none);
//   - the file contents only the job's ConfigMap carries (a jinja template and its values, up to
//     768 KiB; JobParameters.json, up to 192 KiB) are written once, when the ConfigMap is created.
//     The cache keeps that they exist (the pod builder and the spec check read only that) and the
//     reconciler reads the stored object on the rare pass that creates the ConfigMap
//     (withFullSpec). The controller never writes a spec, and the status subresource ignores the
//     spec it is sent, so an elided copy is never written back.
import type { UCloudJob, UCloudJobSpec } from '../api/v1alpha1/ucloudjob.js';
import { shareStrings } from '../k8s/shared-strings.js';

/** Cached jobs whose ConfigMap contents were elided (never the objects handed out by the apiserver). */
const elided = new WeakSet<object>();

export function trimJob(raw: unknown): UCloudJob {
  const job = raw as UCloudJob & { metadata: { managedFields?: unknown } };
  const spec = job.spec as UCloudJobSpec | undefined;
  const heavy = !!spec && (spec.invocationTemplate !== undefined || spec.jobParameters !== undefined);
  const { managedFields: _dropped, ...metadata } = job.metadata ?? {};
  const lighter = heavy
    ? {
        ...job,
        metadata,
        spec: {
          ...spec,
          // Present but empty: still valid against the schema, and `if (spec.invocationTemplate)` holds.
          ...(spec.invocationTemplate !== undefined ? { invocationTemplate: { template: '', values: '' } } : {}),
          ...(spec.jobParameters !== undefined ? { jobParameters: '' } : {}),
        },
      }
    : { ...job, metadata };
  // The strings every job repeats (namespace, labels, product, image, condition texts) point at one shared copy.
  const out = shareStrings(lighter) as UCloudJob;
  if (heavy) elided.add(out);
  return out;
}

/** The cached copy lacks the ConfigMap's file contents (trimJob): read the stored job before building it. */
export function specElided(job: object): boolean {
  return elided.has(job);
}

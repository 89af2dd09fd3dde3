// terminate, extend and verify: the calls that act on jobs this cluster already holds. They
// change spec only (the reconciler does the rest) and never create a job.
import { isFinal, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import { durationToMillis } from '../ucloud/job.js';
import { mapLimited } from './concurrency.js';
import { BULK_CONCURRENCY, type CallContext } from './context.js';
import { ProviderError } from './errors.js';
import { ExtendBulkSchema, JobRefBulkSchema, parseBody } from './schemas.js';

const unique = (ids: readonly string[]): string[] => [...new Set(ids)];

/** Sets spec.terminationRequestedAt once; a job we do not have, or that has ended, has nothing to stop. */
export async function terminateJobs(body: unknown, ctx: CallContext): Promise<{ responses: object[] }> {
  const { items } = parseBody(JobRefBulkSchema, body);
  const ids = unique(items.map((j) => j.id));
  ctx.noteJobs(ids);
  const at = ctx.now().toISOString();
  await mapLimited(ids, BULK_CONCURRENCY, async (id) => {
    const result = await ctx.jobs.updateSpec(id, (cr) =>
      cr.spec.terminationRequestedAt || isFinal(cr.status?.state) ? undefined : { ...cr.spec, terminationRequestedAt: at },
    );
    if (!result) ctx.logger.info('Terminate of a job this cluster does not have: nothing to stop', { jobId: id });
  });
  return { responses: items.map(() => ({})) };
}

/** Why a job cannot be extended, or undefined when it can. */
function extendRefusal(cr: UCloudJob | undefined, id: string, at: string): ProviderError | undefined {
  if (!cr) return new ProviderError(404, `${at}: unknown job ${id}`, 'UNKNOWN_JOB');
  if (isFinal(cr.status?.state) || cr.spec.terminationRequestedAt) {
    return new ProviderError(400, `${at}: job ${id} has ended or is being terminated and cannot be extended`, 'JOB_NOT_RUNNING');
  }
  if (cr.spec.timeAllocationMillis === undefined) {
    return new ProviderError(400, `${at}: job ${id} has no time allocation to extend`, 'NO_TIME_ALLOCATION');
  }
  return undefined;
}

/** Raises spec.timeAllocationMillis; every item is checked before the first write. */
export async function extendJobs(body: unknown, ctx: CallContext): Promise<{ responses: object[] }> {
  const { items } = parseBody(ExtendBulkSchema, body);
  // The same job twice in one call gets both extensions, in one write.
  const byId = new Map<string, { at: string; millis: number }>();
  items.forEach((item, i) => {
    const entry = byId.get(item.job.id) ?? { at: `items[${i}].job`, millis: 0 };
    entry.millis += durationToMillis(item.requestedTime);
    byId.set(item.job.id, entry);
  });
  const ids = [...byId.keys()];
  ctx.noteJobs(ids);

  const current = await mapLimited(ids, BULK_CONCURRENCY, (id) => ctx.jobs.get(id));
  const refusal = ids.map((id, i) => extendRefusal(current[i], id, byId.get(id)!.at)).find((r) => r);
  if (refusal) throw refusal;

  await mapLimited(ids, BULK_CONCURRENCY, async (id) => {
    const { at, millis } = byId.get(id)!;
    const result = await ctx.jobs.updateSpec(id, (cr) => {
      // Re-checked on every attempt: the job may have ended since the check above.
      const late = extendRefusal(cr, id, at);
      if (late) throw late;
      const total = cr.spec.timeAllocationMillis! + millis;
      if (!Number.isSafeInteger(total)) throw new ProviderError(400, `${at}: the time allocation would be too large`, 'INVALID_REQUEST');
      return { ...cr.spec, timeAllocationMillis: total };
    });
    if (!result) throw extendRefusal(undefined, id, at)!;
  });
  return { responses: items.map(() => ({})) };
}

/**
 * verify (Kotlin Core): the jobs UCloud/Core believes run here. One we do not have is not
 * recreated (we cannot know its state); it is handed to the reporter, which fails it.
 */
export async function verifyJobs(body: unknown, ctx: CallContext): Promise<Record<string, never>> {
  const { items } = parseBody(JobRefBulkSchema, body);
  const ids = unique(items.map((j) => j.id));
  ctx.noteJobs(ids);
  const found = await mapLimited(ids, BULK_CONCURRENCY, (id) => ctx.jobs.get(id));
  const unknown = ids.filter((_, i) => !found[i]);
  if (unknown.length) {
    ctx.logger.warn('UCloud/Core knows jobs this cluster does not; they will be reported as failed', {
      count: unknown.length,
      jobIds: unknown.slice(0, 20),
    });
    await ctx.onUnknownJobs?.(unknown);
  }
  return {};
}

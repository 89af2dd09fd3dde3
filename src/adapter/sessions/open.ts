// interactiveSession (`POST .../jobs/interactiveSession`, the spec's openInteractiveSession):
// every item is checked before any session is opened (all or nothing, like the other bulk calls):
// the session type must be one this provider serves, the job must be ours and not ended, the rank
// inside 0..replicas-1, and an owner named in the request must be the job's owner. Each session is
// then stored (store.ts) and its identifier returned in UCloud's OpenSession shape.
import { z } from 'zod';
import { isFinal, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import { mapLimited } from '../concurrency.js';
import { BULK_CONCURRENCY, type CallContext } from '../context.js';
import { ProviderError } from '../errors.js';
import { bulkOf, parseBody } from '../schemas.js';
import type { SessionStore, SessionType } from './store.js';
import type { WebPublisher } from './web.js';
import { WEB_SESSION_PARAM } from './web-auth.js';

const ItemSchema = z.object({
  job: z
    .object({
      id: z.string().min(1).max(256),
      // Core sends the whole Job; only its owner (and the app's VNC password) is read here, and a
      // malformed one is ignored.
      status: z
        .object({
          resolvedApplication: z
            .object({
              invocation: z
                .object({
                  vnc: z
                    .object({ password: z.string().max(1024).nullish() })
                    .loose()
                    .nullish(),
                })
                .loose(),
            })
            .loose()
            .nullish(),
        })
        .loose()
        .nullish()
        .catch(undefined),
      owner: z
        .object({ createdBy: z.string().max(256), project: z.string().max(256).nullish() })
        .loose()
        .optional()
        .catch(undefined),
    })
    .loose(),
  rank: z.number().int().min(0).max(999),
  sessionType: z.enum(['WEB', 'VNC', 'SHELL']),
  target: z.string().max(256).nullish(),
});
export const OpenSessionBulkSchema = bulkOf(ItemSchema);

export type OpenSession =
  | { type: 'shell'; jobId: string; rank: number; sessionIdentifier: string; domainOverride: null }
  | { type: 'web'; jobId: string; rank: number; redirectClientTo: string; domainOverride: null }
  | { type: 'vnc'; jobId: string; rank: number; url: string; password: string | null; domainOverride: null };

/** Which session types this adapter serves (a type not listed answers 400 and is not advertised). */
export type SessionSupport = Record<SessionType, boolean>;

export interface SessionDeps {
  /** Terminals (SHELL). */
  store?: SessionStore;
  /** WEB and VNC: the Ingress, and the sessions web-auth.ts checks. */
  web?: WebPublisher;
  webSessions?: SessionStore;
  webSessionTtlSeconds?: number;
  support: SessionSupport;
}

function refusal(item: z.infer<typeof ItemSchema>, i: number, cr: UCloudJob | undefined, support: SessionSupport): ProviderError | undefined {
  const at = `items[${i}]`;
  if (!support[item.sessionType]) {
    return new ProviderError(400, `${at}.sessionType: ${item.sessionType} sessions are not supported by this provider`, 'SESSIONS_NOT_SUPPORTED');
  }
  if (!cr) return new ProviderError(404, `${at}.job: unknown job ${item.job.id}`, 'UNKNOWN_JOB');
  if (isFinal(cr.status?.state) || cr.spec.terminationRequestedAt) {
    return new ProviderError(400, `${at}.job: job ${item.job.id} has ended or is being terminated`, 'JOB_NOT_RUNNING');
  }
  if (item.rank >= cr.spec.replicas) {
    return new ProviderError(400, `${at}.rank: rank ${item.rank} is outside 0..${cr.spec.replicas - 1}`, 'INVALID_RANK');
  }
  if (item.sessionType === 'WEB' && !cr.spec.webPort) {
    return new ProviderError(400, `${at}.sessionType: the application of job ${item.job.id} has no web interface`, 'NO_WEB_INTERFACE');
  }
  if (item.sessionType === 'VNC' && !cr.spec.vncPort) {
    return new ProviderError(400, `${at}.sessionType: the application of job ${item.job.id} has no VNC server`, 'NO_VNC_INTERFACE');
  }
  const owner = item.job.owner;
  if (owner && (owner.createdBy !== cr.spec.owner.createdBy || (owner.project ?? undefined) !== cr.spec.owner.project)) {
    return new ProviderError(403, `${at}.job.owner: not the owner of job ${item.job.id}`, 'NOT_JOB_OWNER');
  }
  return undefined;
}

export async function openInteractiveSessions(body: unknown, ctx: CallContext, deps: SessionDeps | undefined): Promise<{ responses: OpenSession[] }> {
  const { items } = parseBody(OpenSessionBulkSchema, body);
  ctx.noteJobs(items.map((i) => i.job.id));
  const support: SessionSupport = deps?.support ?? { SHELL: false, WEB: false, VNC: false };
  const early = items.map((item, i) => (support[item.sessionType] ? undefined : refusal(item, i, undefined, support))).find((r) => r);
  if (early) throw early;
  const jobs = await mapLimited(items, BULK_CONCURRENCY, (item) => ctx.jobs.get(item.job.id));
  const bad = items.map((item, i) => refusal(item, i, jobs[i], support)).find((r) => r);
  if (bad) throw bad;
  const responses = await mapLimited(items, BULK_CONCURRENCY, async (item, i): Promise<OpenSession> => {
    const cr = jobs[i]!;
    const base = { jobId: cr.spec.jobId, rank: item.rank, domainOverride: null };
    ctx.logger.info('Interactive session opened', { jobId: cr.spec.jobId, rank: item.rank, type: item.sessionType });
    // support[] (checked above) guarantees the backend of each type is there.
    if (item.sessionType === 'SHELL') {
      const { identifier } = await deps!.store!.open(cr, 'SHELL', item.rank);
      return { type: 'shell', ...base, sessionIdentifier: identifier };
    }
    const kind = item.sessionType === 'WEB' ? 'web' : 'vnc';
    const published = await deps!.web!.publish(cr, kind, item.rank, kind === 'web' ? cr.spec.webPort! : cr.spec.vncPort!);
    // The browser presents this once; web-auth.ts exchanges it for a cookie of that host only.
    const url = new URL(published);
    const { identifier } = await deps!.webSessions!.open(cr, item.sessionType, item.rank, { host: url.hostname, ttlSeconds: deps!.webSessionTtlSeconds });
    url.searchParams.set(WEB_SESSION_PARAM, identifier);
    if (kind === 'web') return { type: 'web', ...base, redirectClientTo: url.toString() };
    return { type: 'vnc', ...base, url: url.toString(), password: item.job.status?.resolvedApplication?.invocation.vnc?.password ?? null };
  });
  return { responses };
}

// create: the one call that makes something run. All-or-nothing: every item is validated,
// translated and its peers checked before the first write; if a write then fails, the jobs this
// call created are deleted again, because UCloud/Core deletes a job whose create failed and a
// UCloudJob left behind would run with nobody to report it to.
import { isFinal, LABEL_SSH_PORT, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';
import { jobToResource, TranslationError, wholeDrives, type CoreFacts } from '../translate/job-to-spec.js';
import { licenseIds } from '../translate/licenses.js';
import type { Job } from '../ucloud/job.js';
import { mapLimited } from './concurrency.js';
import { BULK_CONCURRENCY, type CallContext } from './context.js';
import { ProviderError } from './errors.js';
import { neverFitsReason } from './never-fits.js';
import { CreateBulkSchema, parseBody } from './schemas.js';
import { sshWanted } from './sessions/ssh.js';

/** Translation of one item, with errors naming the field from the top of the request. */
function translate(job: Job, index: number, config: OperatorConfig, facts: CoreFacts): UCloudJob {
  try {
    if (job.specification.restartOnExit === true) {
      // Container jobs are never restarted by this provider (UCloud deprecated restartOnExit):
      // refusing is honest, accepting and not restarting would not be.
      throw new TranslationError('specification.restartOnExit', 'this provider never restarts container jobs', 'RESTART_NOT_SUPPORTED');
    }
    return jobToResource(job, config, facts);
  } catch (e) {
    if (e instanceof TranslationError) throw new TranslationError(`items[${index}].${e.field}`, e.why, e.errorCode, e.status);
    throw e;
  }
}

/** How long create waits for what it looks up at UCloud/Core: core2 gives a create call 5 s in all. */
const LOOKUP_BUDGET_MS = 2000;

/**
 * `lookup` of each id, all within one budget. An id Core has nothing for, a failed look-up or one
 * past the budget is left out: what these name is cosmetic or falls back as IM2's does, and a
 * create that fails is not.
 */
async function lookUpAll(
  ids: readonly string[],
  lookup: ((id: string) => Promise<string | undefined>) | undefined,
  what: string,
  ctx: CallContext,
): Promise<Map<string, string>> {
  if (!lookup || ids.length === 0) return new Map();
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, LOOKUP_BUDGET_MS, undefined)));
  const found = await mapLimited(ids, BULK_CONCURRENCY, (id) =>
    Promise.race([
      lookup(id).catch((err: unknown) => {
        ctx.logger.warn(`Could not look up a ${what} at UCloud/Core`, { id, err });
        return undefined;
      }),
      budget,
    ]),
  );
  clearTimeout(timer);
  return new Map(ids.flatMap((id, i) => (found[i] === undefined ? [] : [[id, found[i]!] as const])));
}

/** Drive titles (IM2 names a whole drive's mount by it) and license products (IM2's license string). */
async function coreFacts(items: readonly Job[], ctx: CallContext): Promise<CoreFacts> {
  const [driveTitles, licenseProducts] = await Promise.all([
    lookUpAll([...new Set(items.flatMap(wholeDrives))], ctx.driveTitle, 'drive title', ctx),
    lookUpAll([...new Set(items.flatMap(licenseIds))], ctx.licenseProduct, 'license product', ctx),
  ]);
  return { driveTitles, licenseProducts };
}

/** Where each peer of a job is named in the request, for an error that points at it. */
function peerFields(job: Job): Array<{ field: string; jobId: string; hostname: string }> {
  const out: Array<{ field: string; jobId: string; hostname: string }> = [];
  for (const [name, v] of Object.entries(job.specification.parameters ?? {})) {
    if (v.type === 'peer') out.push({ field: `specification.parameters.${name}`, jobId: v.jobId, hostname: v.hostname });
  }
  (job.specification.resources ?? []).forEach((v, i) => {
    if (v.type === 'peer') out.push({ field: `specification.resources[${i}]`, jobId: v.jobId, hostname: v.hostname });
  });
  return out;
}

/**
 * Peer hostnames the cluster's own names would shadow: the jobs' namespace is searched before a
 * job's peer domain, and every Service the operator makes there is called `j-...` (ADR 0006).
 */
const SHADOWED_HOSTNAME = /^j-/;

/** Every peer must be a job that runs here and has not ended (or be created by this very call). */
async function checkPeers(items: readonly Job[], ctx: CallContext): Promise<void> {
  const inRequest = new Set(items.map((j) => j.id));
  const refs = items.flatMap((job, i) => peerFields(job).map((p) => ({ ...p, item: i })));
  const shadowed = refs.find((r) => SHADOWED_HOSTNAME.test(r.hostname));
  if (shadowed) {
    throw new ProviderError(
      400,
      `items[${shadowed.item}].${shadowed.field}: peer hostname ${shadowed.hostname} is reserved (names starting with "j-" belong to this provider's jobs)`,
      'INVALID_PEER_HOSTNAME',
    );
  }
  const ids = [...new Set(refs.map((r) => r.jobId).filter((id) => !inRequest.has(id)))];
  const found = await mapLimited(ids, BULK_CONCURRENCY, (id) => ctx.jobs.get(id));
  const usable = new Set(ids.filter((_, i) => found[i] && !isFinal(found[i]!.status?.state)));
  const bad = refs.find((r) => !inRequest.has(r.jobId) && !usable.has(r.jobId));
  if (bad) {
    throw new ProviderError(
      400,
      `items[${bad.item}].${bad.field}: unknown peer job ${bad.jobId}: it does not run on this provider or has ended`,
      'UNKNOWN_PEER',
    );
  }
  // A peering opens both jobs' networks to each other: only between jobs of one owner.
  const ownerOf = new Map<string, Owner | undefined>([
    ...ids.map((id, i) => [id, found[i]?.spec.owner] as const),
    ...items.map((j) => [j.id, j.owner] as const),
  ]);
  const foreign = refs.find((r) => !sameOwner(items[r.item]!.owner, ownerOf.get(r.jobId)));
  if (foreign) {
    throw new ProviderError(403, `items[${foreign.item}].${foreign.field}: peer job ${foreign.jobId} belongs to another owner`, 'FOREIGN_PEER');
  }
}

type Owner = { createdBy: string; project?: string | null };

/** The same owner, as Kotlin Core admitted peers: the same project, or (both personal) the same creator. */
export function sameOwner(a: Owner | undefined, b: Owner | undefined): boolean {
  if (!a || !b) return false;
  const pa = a.project ?? undefined;
  const pb = b.project ?? undefined;
  if (pa !== undefined || pb !== undefined) return pa === pb;
  return a.createdBy === b.createdBy;
}

async function rollBack(created: readonly UCloudJob[], ctx: CallContext): Promise<void> {
  for (const job of created) {
    try {
      await ctx.kube.ucloudJobs.delete(job.metadata.namespace ?? ctx.jobs.namespace, job.metadata.name);
      ctx.logger.warn('Deleted a job created by a failed create call', { jobId: job.spec.jobId });
    } catch (e) {
      ctx.logger.error('Could not delete a job created by a failed create call', { jobId: job.spec.jobId, err: e });
    }
  }
}

/** SSH as the application and the user ask for it; refused when this provider does not offer it. */
function sshOf(items: readonly Job[], ctx: CallContext): boolean[] {
  const wanted = items.map(sshWanted);
  const i = wanted.findIndex((w) => w);
  if (i >= 0 && !ctx.ssh) {
    throw new ProviderError(400, `items[${i}].specification.sshEnabled: SSH access is not offered by this provider`, 'SSH_NOT_SUPPORTED');
  }
  return wanted;
}

/** The SSH jobs of this call that are not stored with a port already (a repeated create is not a new job). */
async function portless(resources: UCloudJob[], ctx: CallContext): Promise<UCloudJob[]> {
  const stored = await mapLimited(resources, BULK_CONCURRENCY, (r) => ctx.jobs.get(r.spec.jobId));
  resources.forEach((r, i) => {
    const port = stored[i]?.spec.sshPort;
    if (port !== undefined) r.spec.sshPort = port;
  });
  return resources.filter((r) => r.spec.sshPort === undefined);
}

/**
 * Refuses the call if a job's ranks can never be placed on the cluster's nodes (never-fits.ts).
 * Only once the nodes are known (never on a guess at start-up), and not for a job already stored:
 * a repeated create of an accepted job must not make Core delete a job that runs here.
 */
async function checkFits(resources: readonly UCloudJob[], ctx: CallContext): Promise<void> {
  if (!ctx.config.jobs.sizing.refuseWhatNeverFits) return;
  const nodes = await ctx.capacity?.knownNodes?.();
  if (!nodes) return;
  for (const [i, r] of resources.entries()) {
    const why = neverFitsReason(r.spec.product, r.spec.replicas, ctx.config, nodes);
    if (why && !(await ctx.jobs.get(r.spec.jobId))) throw new ProviderError(400, `items[${i}].specification.product: ${why}`, 'PRODUCT_NEVER_FITS');
  }
}

export async function createJobs(body: unknown, ctx: CallContext): Promise<{ responses: null[] }> {
  const { items } = parseBody(CreateBulkSchema, body);
  ctx.noteJobs(items.map((j) => j.id));
  const facts = await coreFacts(items, ctx);
  const resources = items.map((job, i) => translate(job, i, ctx.config, facts));
  const ssh = sshOf(items, ctx);
  resources.forEach((r, i) => (r.spec.sshEnabled = ssh[i]!));
  await checkPeers(items, ctx);
  await checkFits(resources, ctx);

  // Each SSH job's own port, in its spec before it is stored (ADR 0020); a repeated create keeps
  // the port the stored job already has.
  const needPort = ctx.sshPorts
    ? await portless(
        resources.filter((_, i) => ssh[i]),
        ctx,
      )
    : [];
  const ports = needPort.length ? await ctx.sshPorts!.allocate(needPort.length) : [];
  needPort.forEach((r, i) => {
    r.spec.sshPort = ports[i];
    r.metadata.labels = { ...r.metadata.labels, [LABEL_SSH_PORT]: String(ports[i]) };
  });

  const created: UCloudJob[] = [];
  try {
    await mapLimited(resources, BULK_CONCURRENCY, async (resource, i) => {
      const result = await ctx.kube.ucloudJobs.create(resource);
      if (result.created) created.push(result.object);
      // Already there with the same id: a repeated create (idempotent). Another id: a hash
      // collision of two long ids, and adopting someone else's job would be wrong.
      else if (result.object.spec?.jobId !== resource.spec.jobId) {
        throw new ProviderError(409, `job ${resource.spec.jobId} collides with an existing job on this provider`, 'JOB_NAME_COLLISION');
      }
      // The keys the ranks mount; a failure fails (and rolls back) the create: no silent SSH-less job.
      if (ssh[i] && result.object.spec.sshEnabled) await ctx.ssh!.install(result.object);
    });
  } catch (e) {
    await rollBack(created, ctx);
    throw e;
  } finally {
    ctx.sshPorts?.release(ports);
  }
  // No providerGeneratedId: `null` per item, as app-kubernetes answered.
  return { responses: items.map(() => null) };
}

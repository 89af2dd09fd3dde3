// Calls with no effect on the cluster: ones UCloud/Core needs acknowledged, and ones this
// provider refuses because container jobs cannot do them.
import type { CallContext } from './context.js';
import { ProviderError } from './errors.js';
import { InitSchema, parseBody, SuspendBulkSchema, UpdateAclBulkSchema } from './schemas.js';

/** Jobs are not shared through UCloud ACLs on the cluster: nothing to do, but it must be OK. */
export function updateAcl(body: unknown, ctx: CallContext): { responses: object[] } {
  const { items } = parseBody(UpdateAclBulkSchema, body);
  ctx.noteJobs(items.map((i) => i.resource.id));
  return { responses: items.map(() => ({})) };
}

/** Per-user initialisation: container jobs need no per-user state on the cluster. */
export function initUser(body: unknown): Record<string, never> {
  parseBody(InitSchema, body ?? {});
  return {};
}

export function suspension(body: unknown, ctx: CallContext): never {
  const { items } = parseBody(SuspendBulkSchema, body);
  ctx.noteJobs(items.map((i) => i.job.id));
  throw new ProviderError(400, 'container jobs cannot be suspended', 'SUSPENSION_NOT_SUPPORTED');
}

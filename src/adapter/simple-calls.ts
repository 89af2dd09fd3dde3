// Calls with no effect on the cluster: ones UCloud/Core needs acknowledged, and ones this
// provider refuses because the feature is not offered (see SUPPORTED_FEATURES).
import type { CallContext } from './context.js';
import { ProviderError } from './errors.js';
import { SUPPORTED_FEATURES } from './features.js';
import { InitSchema, InteractiveSessionBulkSchema, parseBody, SuspendBulkSchema, UpdateAclBulkSchema } from './schemas.js';

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

const SESSION_FEATURE = { WEB: 'web', VNC: 'vnc', SHELL: 'terminal' } as const;

export function interactiveSession(body: unknown, ctx: CallContext): never {
  const { items } = parseBody(InteractiveSessionBulkSchema, body);
  ctx.noteJobs(items.map((i) => i.job.id));
  const wanted = items.map((i) => SESSION_FEATURE[i.sessionType]);
  // No session backend exists yet, so none may be advertised; this fails loudly if one is.
  if (wanted.some((f) => SUPPORTED_FEATURES[f])) throw new Error(`SUPPORTED_FEATURES claims ${wanted.join('/')} sessions but none is implemented`);
  throw new ProviderError(400, 'interactive sessions are not supported by this provider', 'SESSIONS_NOT_SUPPORTED');
}

export function retrieveUtilization(): never {
  throw new ProviderError(400, 'this provider does not report utilization', 'UTILIZATION_NOT_SUPPORTED');
}

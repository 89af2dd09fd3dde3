// One zod schema per request body of the provider API. A body that fails is a 400 whose `why`
// names the first failing field, e.g. `items[3].specification.replicas: Too small: ...`.
//
// Only create validates the whole Job: it is the one call that turns a Job into something that
// runs. The other calls act on a job we already hold and read nothing but its id, so they check
// only that. Otherwise a change UCloud makes to an application or product after the job started
// (a parameter type we do not know, say) would make the job impossible to terminate.
import { z } from 'zod';
import { JobSchema, SimpleDurationSchema } from '../ucloud/job.js';
import { ProviderError } from './errors.js';

const MAX_BULK = 1000;

/** UCloud's BulkRequest: 1..1000 items (Kotlin's constructor rejects anything else with 400). */
export const bulkOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item).min(1, 'a bulk request needs at least one item').max(MAX_BULK, `a bulk request takes at most ${MAX_BULK} items`),
  });

/** A Job the call only identifies; the rest of it is not read (and stripped). */
export const JobRefSchema = z.object({ id: JobSchema.shape.id });
export type JobRef = z.infer<typeof JobRefSchema>;

export const CreateBulkSchema = bulkOf(JobSchema);
export const JobRefBulkSchema = bulkOf(JobRefSchema);
export const ExtendBulkSchema = bulkOf(z.object({ job: JobRefSchema, requestedTime: SimpleDurationSchema }));
export const SuspendBulkSchema = bulkOf(z.object({ job: JobRefSchema }));

// core2's UpdatedAclWithResource (shared/pkg/orchestrators/resource.go): Go nil slices arrive
// as null, and AclEntity.type / ResourceAclEntry.permissions are omitempty.
const AclEntitySchema = z.object({ type: z.string().max(64).optional() }).loose();
export const UpdateAclBulkSchema = bulkOf(
  z.object({
    resource: JobRefSchema,
    added: z
      .array(z.object({ entity: AclEntitySchema, permissions: z.array(z.string().max(64)).max(16).nullish() }).loose())
      .max(MAX_BULK)
      .nullish(),
    deleted: z.array(AclEntitySchema).max(MAX_BULK).nullish(),
  }),
);

export const InteractiveSessionBulkSchema = bulkOf(
  z.object({
    job: JobRefSchema,
    rank: z.number().int().min(0).max(999),
    sessionType: z.enum(['WEB', 'VNC', 'SHELL']),
    target: z.string().max(256).nullish(),
  }),
);

/** Kotlin's `{principal: {createdBy, project}}` or core2's `{username}`; either is acknowledged. */
export const InitSchema = z
  .object({
    principal: z
      .object({ createdBy: z.string().max(256), project: z.string().max(256).nullish() })
      .loose()
      .optional(),
    username: z.string().max(256).optional(),
  })
  .loose();

/** core2's ProviderIntegrationPFindByUser: the body of integration/connect and /unlinked. */
export const FindByUserSchema = z.object({ username: z.string().max(256) }).loose();

/** core2's JobsProviderRequestDynamicParametersRequest; the application is not read. */
export const DynamicParametersSchema = z.object({ owner: z.object({ createdBy: z.string().max(256) }).loose(), application: z.object({}).loose() }).loose();

/** `items[3].specification.replicas` from zod's path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(body)';
}

export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const res = schema.safeParse(body);
  if (res.success) return res.data;
  const issue = res.error.issues[0]!;
  throw new ProviderError(400, `${fieldPath(issue.path)}: ${issue.message}`, 'INVALID_REQUEST');
}

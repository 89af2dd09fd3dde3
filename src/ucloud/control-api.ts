// Wire types of the outgoing JobsControl API (provider → UCloud/Core) and of provider auth.
// Shapes follow the curl examples in the provider API docs (the wire form), not the Kotlin
// signatures: nullable fields may be null or absent. Responses are parsed leniently because two
// Core generations answer: Go core2 encodes an empty list as `null`, Kotlin as `[]`.
import { z } from 'zod';
import { JobStateSchema } from './job.js';

export { JobStateSchema };
export type JobState = z.infer<typeof JobStateSchema>;

/** Kotlin's BulkRequest constructor answers 400 outside 1..1000 items. */
export const MAX_BULK_ITEMS = 1000;

export function bulkRequestSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item).min(1).max(MAX_BULK_ITEMS) });
}
export type BulkRequest<T> = { items: T[] };

export function bulk<T>(items: T[]): BulkRequest<T> {
  return { items };
}

/** Kotlin `{why, errorCode}`; Go adds statusCode/detailedCode, which nobody needs. */
export const CommonErrorMessageSchema = z.object({
  why: z.string(),
  errorCode: z.string().nullish(),
});
export type CommonErrorMessage = z.infer<typeof CommonErrorMessageSchema>;

export const FindByStringIdSchema = z.object({ id: z.string() });
export type FindByStringId = z.infer<typeof FindByStringIdSchema>;

const listOrNull = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);

// --- update ---------------------------------------------------------------------------------
export const JobUpdateSchema = z.object({
  state: JobStateSchema.nullish(),
  status: z.string().nullish(),
  /** Milliseconds; Core replaces the job's timeAllocation with it (used by extend). */
  newTimeAllocation: z.number().int().nullish(),
  outputFolder: z.string().nullish(),
  allowRestart: z.boolean().nullish(),
  /** Core applies the update only if the job is currently in this state. */
  expectedState: JobStateSchema.nullish(),
  /** Core applies the update only if it changes the state (drops a repeated state). */
  expectedDifferentState: z.boolean().nullish(),
  newMounts: z.array(z.string()).nullish(),
  /** Filled in by Core; providers send 0 or leave it out. */
  timestamp: z.number().nullish(),
});
export type JobUpdate = z.infer<typeof JobUpdateSchema>;

export function resourceUpdateAndIdSchema<T extends z.ZodType>(update: T) {
  return z.object({ id: z.string().min(1), update });
}
export const JobUpdateItemSchema = resourceUpdateAndIdSchema(JobUpdateSchema);
/** ResourceUpdateAndId<JobUpdate>. */
export type JobUpdateItem = z.infer<typeof JobUpdateItemSchema>;

// --- chargeCredits / checkCredits -------------------------------------------------------------
// Core ignores `units` and charges replicas × price × periods with isDeltaCharge=false and
// scope=chargeId, so a resent chargeId overwrites rather than adds (research §4.9).
export const ResourceChargeCreditsSchema = z.object({
  id: z.string().min(1),
  chargeId: z.string().min(1),
  units: z.number().int().min(0),
  periods: z.number().int().min(0),
  performedBy: z.string().nullish(),
  description: z.string().nullish(),
});
export type ResourceChargeCredits = z.infer<typeof ResourceChargeCreditsSchema>;

export const ResourceChargeCreditsResponseSchema = z.object({
  insufficientFunds: listOrNull(FindByStringIdSchema),
  duplicateCharges: listOrNull(FindByStringIdSchema),
});
export type ResourceChargeCreditsResponse = z.infer<typeof ResourceChargeCreditsResponseSchema>;

// The port speaks in these shorter names; they are the same wire types.
export const ChargeItemSchema = ResourceChargeCreditsSchema;
export type ChargeItem = ResourceChargeCredits;
export const ChargeResultSchema = ResourceChargeCreditsResponseSchema;
export type ChargeResult = ResourceChargeCreditsResponse;

// --- browseSshKeys ----------------------------------------------------------------------------
export const JobsControlBrowseSshKeysSchema = z.object({
  jobId: z.string().min(1),
  /** UCloud supports 10, 25, 50, 100 and 250. */
  itemsPerPage: z.number().int().nullish(),
  next: z.string().nullish(),
  consistency: z.enum(['PREFER', 'REQUIRE']).nullish(),
  itemsToSkip: z.number().int().nullish(),
});
export type JobsControlBrowseSshKeys = z.infer<typeof JobsControlBrowseSshKeysSchema>;
/** Kept for callers that used the earlier name. */
export const BrowseSshKeysRequestSchema = JobsControlBrowseSshKeysSchema;

export const SSHKeySchema = z.object({
  id: z.string(),
  owner: z.string(),
  createdAt: z.number(),
  fingerprint: z.string(),
  specification: z.object({ title: z.string(), key: z.string() }),
});
export type SSHKey = z.infer<typeof SSHKeySchema>;

export function pageV2Schema<T extends z.ZodType>(item: T) {
  return z.object({
    items: listOrNull(item),
    itemsPerPage: z.number().int().nullish(),
    next: z.string().nullish(),
  });
}
export type PageV2<T> = { items: T[]; itemsPerPage?: number | null; next?: string | null };

// --- auth -------------------------------------------------------------------------------------
export const RefreshRequestSchema = bulkRequestSchema(z.object({ refreshToken: z.string().min(1) }));
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;

const AccessTokenSchema = z.object({ accessToken: z.string().min(1), csrfToken: z.string().nullish() });
/** Go core2 answers `{responses:[{accessToken, csrfToken}]}`, Kotlin Core `{accessToken}`. */
export const RefreshResponseSchema = z.union([z.object({ responses: z.array(AccessTokenSchema).min(1) }), AccessTokenSchema]);
export type RefreshResponse = z.infer<typeof RefreshResponseSchema>;

export function accessTokenOf(res: RefreshResponse): string {
  return 'responses' in res ? res.responses[0]!.accessToken : res.accessToken;
}

/** core2's Drive (shared/pkg/orchestrators/drives.go), as FileCollectionsControl.retrieve answers it: only the title is read. */
export const DriveSchema = z.object({ specification: z.object({ title: z.string().max(4096) }) });

/** core2's License (shared/pkg/orchestrators/licenses.go), as LicensesControl.retrieve answers it: only its product is read. */
export const LicenseSchema = z.object({ specification: z.object({ product: z.object({ id: z.string().max(256) }) }) });

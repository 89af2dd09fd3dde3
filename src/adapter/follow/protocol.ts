// UCloud's WebSocket envelope (docs/ucloud-wire.md, websocket). A request frame is
// `{call, streamId, payload, bearer?, ...}`; the provider answers on the same streamId with
// `{type:"message", streamId, payload}` frames and ends the stream with one
// `{type:"response", status, streamId, payload}`. Frames that do not parse are dropped, and so are
// keep-alives (`{"ping":"pong"}`), which carry no call.
import { z } from 'zod';
import { fieldPath } from '../schemas.js';

const RequestFrameSchema = z
  .object({
    call: z.string().max(512),
    streamId: z.string().max(512),
    payload: z.unknown(),
  })
  .loose();
export type RequestFrame = z.infer<typeof RequestFrameSchema>;

/** The request in a text frame, or undefined for anything to drop silently. */
export function parseRequestFrame(data: string): RequestFrame | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  const res = RequestFrameSchema.safeParse(json);
  return res.success ? res.data : undefined;
}

export const FollowInitSchema = z.object({
  type: z.literal('init'),
  job: z.object({ id: z.string().min(1).max(256) }).loose(),
});
export const FollowCancelSchema = z.object({ type: z.literal('cancel'), streamId: z.string().min(1).max(512) });
export const FollowRequestSchema = z.discriminatedUnion('type', [FollowInitSchema, FollowCancelSchema]);
export type FollowRequest = z.infer<typeof FollowRequestSchema>;

export function parseFollowRequest(payload: unknown): { ok: true; value: FollowRequest } | { ok: false; why: string } {
  const res = FollowRequestSchema.safeParse(payload);
  if (res.success) return { ok: true, value: res.data };
  const issue = res.error.issues[0]!;
  return { ok: false, why: `payload.${fieldPath(issue.path)}: ${issue.message}` };
}

/**
 * JobsProviderFollowResponse. `channel` is set only on IM2's utilization charts ("ui",
 * "utilization-data"; UCloud's provider-integration/shared/pkg/orchestrators/jobs.go JobLogMessage,
 * docs/adr/0027); log text has none.
 */
export interface FollowResponse {
  streamId: string;
  rank: number;
  stdout: string | null;
  stderr: string | null;
  channel?: string;
}

export const messageFrame = (streamId: string, payload: unknown) => JSON.stringify({ type: 'message', streamId, payload });
export const responseFrame = (streamId: string, status: number, payload: unknown) => JSON.stringify({ type: 'response', status, streamId, payload });
export const errorFrame = (streamId: string, status: number, why: string, errorCode: string) => responseFrame(streamId, status, { why, errorCode });
/** The keep-alive UCloud's own servers send (no streamId; clients ignore it). */
export const PING_FRAME = JSON.stringify({ ping: 'pong' });

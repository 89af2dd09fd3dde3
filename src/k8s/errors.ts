// client-node (1.x and 2.x) rejects typed calls with ApiException{code, body: string}, and watches with an
// Error carrying `statusCode`. Everything the operator branches on (404, 409, 410) goes through
// this one normaliser so no call site has to know those shapes.
export class KubeError extends Error {
  override readonly name = 'KubeError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function toKubeError(e: unknown): KubeError {
  if (e instanceof KubeError) return e;
  const err = e as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const code = typeof err?.code === 'number' ? err.code : typeof err?.statusCode === 'number' ? err.statusCode : 0;
  let reason = code === 0 ? 'NetworkError' : 'Unknown';
  let message = typeof err?.message === 'string' ? err.message : String(e);
  let body: unknown = err?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* not JSON: keep the text */
    }
  }
  if (body && typeof body === 'object') {
    const status = body as { reason?: unknown; message?: unknown };
    if (typeof status.reason === 'string') reason = status.reason;
    if (typeof status.message === 'string') message = status.message;
  }
  return new KubeError(code, reason, message);
}

export const isNotFound = (e: unknown): boolean => toKubeError(e).code === 404;
export const isConflict = (e: unknown): boolean => toKubeError(e).code === 409;
export const isAlreadyExists = (e: unknown): boolean => {
  const k = toKubeError(e);
  return k.code === 409 && k.reason === 'AlreadyExists';
};
export const isGone = (e: unknown): boolean => toKubeError(e).code === 410;

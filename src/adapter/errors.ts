// UCloud's error envelope, {"why": "...", "errorCode": "..."}, for every failure the adapter
// answers. Only errors we raise on purpose carry their own words to UCloud/Core; anything
// unexpected gets a generic why and its detail goes to the log only.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { KubeError } from '../k8s/errors.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { TranslationError } from '../translate/job-to-spec.js';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly status: number,
    readonly why: string,
    readonly errorCode: string,
  ) {
    super(why);
  }
}

export interface ErrorBody {
  why: string;
  errorCode: string;
}

/** body-parser's errors carry a `type`; these are the client's fault and safe to describe. */
function fromBodyParser(err: { type?: unknown; status?: unknown }): ProviderError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ProviderError(400, 'the request body is not valid JSON', 'INVALID_JSON');
    case 'entity.too.large':
      return new ProviderError(413, 'the request body is too large', 'BODY_TOO_LARGE');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProviderError(415, 'unsupported request encoding or charset', 'UNSUPPORTED_ENCODING');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ProviderError(400, 'the request body could not be read', 'INVALID_REQUEST');
    default:
      return undefined;
  }
}

function fromKube(err: KubeError): ProviderError {
  // Conflicts reach here only after the retries ran out: UCloud/Core may simply retry.
  if (err.code === 409) return new ProviderError(409, 'the job was changed concurrently; retry the call', 'CONFLICT');
  // The cluster could not answer: a network error (code 0), throttling or a server error.
  if (err.code === 0 || err.code === 429 || err.code >= 500) {
    return new ProviderError(502, 'the cluster is not available right now', 'CLUSTER_UNAVAILABLE');
  }
  // 403, 422, ...: the operator's RBAC or our own object is wrong, not the caller's request.
  return new ProviderError(500, 'internal error', 'INTERNAL_ERROR');
}

/** The answer for any thrown value, and whether it was unexpected (then logged as an error). */
export function toProviderError(err: unknown): { error: ProviderError; unexpected: boolean } {
  if (err instanceof ProviderError) return { error: err, unexpected: false };
  if (err instanceof TranslationError) return { error: new ProviderError(err.status, `${err.field}: ${err.why}`, err.errorCode), unexpected: false };
  if (err instanceof KubeError) return { error: fromKube(err), unexpected: true };
  const parsed = err && typeof err === 'object' ? fromBodyParser(err) : undefined;
  if (parsed) return { error: parsed, unexpected: false };
  return { error: new ProviderError(500, 'internal error', 'INTERNAL_ERROR'), unexpected: true };
}

export function errorHandler(logger: Logger, metrics: OperatorMetrics): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { error, unexpected } = toProviderError(err);
    const fields = { method: req.method, path: req.path, status: error.status, errorCode: error.errorCode, requestId: res.locals.requestId };
    if (unexpected) {
      // The stack only for our own bugs; an apiserver error is explained by its message.
      const stack = err instanceof Error && !(err instanceof KubeError) ? err.stack : undefined;
      logger.error('Provider call failed', { ...fields, err, ...(stack ? { stack } : {}) });
    } else if (error.status !== 401) {
      // 401s are counted and logged by the auth middleware, with the detailed reason.
      metrics.adapterRejected.inc({ reason: error.errorCode.toLowerCase() });
      logger.info('Rejected provider call', { ...fields, why: error.why });
    }
    if (res.headersSent) return;
    res.status(error.status).json({ why: error.why, errorCode: error.errorCode } satisfies ErrorBody);
  };
}

/** Anything no route claimed. */
export function notFound(): RequestHandler {
  return (req, _res, next) => next(new ProviderError(404, `unknown call ${req.method} ${req.path}`, 'NOT_FOUND'));
}

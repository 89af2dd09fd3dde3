// Per-request bookkeeping, installed before authentication so rejected calls are seen too: a
// request id (the caller's x-request-id when it is sane, else a fresh one), one structured log
// line when the answer is sent, and the adapterRequests/adapterRequestDuration metrics. The call
// label is a fixed route name (or "unknown"), never the raw path, so its cardinality is bounded.
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Printable text (UCloud names may be non-ASCII); no control or format characters.
const SANE_USERNAME = /^[^\p{Cc}\p{Cf}]{1,256}$/u;
const LOGGED_JOB_IDS = 5;

export interface RequestInfo {
  requestId: string;
  call: string;
  jobIds?: readonly string[];
}

export const requestInfo = (res: Response): RequestInfo => res.locals as RequestInfo;

export function noteJobs(res: Response, ids: readonly string[]): void {
  requestInfo(res).jobIds = ids;
}

/**
 * `quiet`: calls Core makes on a timer (the manifest and products polls, every ~10 s each), whose
 * successful answers are logged at debug; they still count in the metrics, and a failed one is
 * logged at info like any other call.
 */
/**
 * The UCloud user a call is made for: core2 sends `ucloud-username` as base64 on calls it makes on
 * a user's behalf (core2/pkg/orchestrator/orchestrator.go, InvokeProvider). Undefined when absent
 * or not a printable name, so the log line never carries arbitrary bytes.
 */
export function callUser(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 400) return undefined;
  const name = Buffer.from(header, 'base64').toString('utf8');
  return SANE_USERNAME.test(name) ? name : undefined;
}

export function accessLog(callOf: (req: Request) => string, logger: Logger, metrics: OperatorMetrics, quiet: ReadonlySet<string> = new Set()): RequestHandler {
  return (req, res, next) => {
    const header = req.headers['x-request-id'];
    const info = requestInfo(res);
    info.requestId = typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
    info.call = callOf(req);
    res.setHeader('x-request-id', info.requestId);
    const user = callUser(req.headers['ucloud-username']);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.adapterRequests.inc({ call: info.call, code: String(res.statusCode) });
      metrics.adapterRequestDuration.observe({ call: info.call }, seconds);
      const ids = info.jobIds ?? [];
      const log = quiet.has(info.call) && res.statusCode < 400 ? logger.debug : logger.info;
      log.call(logger, 'Provider call', {
        call: info.call,
        method: req.method,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1000),
        requestId: info.requestId,
        ...(user ? { user } : {}),
        ...(ids.length ? { jobIds: ids.slice(0, LOGGED_JOB_IDS), jobCount: ids.length } : {}),
      });
    });
    next();
  };
}

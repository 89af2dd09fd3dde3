// Client for UCloud/Core's JobsControl API. It owns the provider access token (renewed when less
// than 3 minutes remain, as UCloud's IM does, and once on a 401), splits bulk calls at UCloud's
// 1000-item limit, and retries what can succeed later (5xx, 429, timeouts, network errors) with
// exponential backoff and full jitter. Other 4xx are final and surface as ControlApiError.
// deliverUpdates/deliverCharges also take a batch apart when Core refuses all of it for one bad
// item (core2 does: a whole update batch is 404 and a whole chargeCredits batch 400 when one job
// id is unknown), so one forgotten job never holds back every other job's reports and charges
// (docs/adr/0015-rejected-batches.md). Tokens never reach logs or metrics.
import { decodeJwt } from 'jose';
import type { z } from 'zod';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import {
  ChargeResultSchema,
  MAX_BULK_ITEMS,
  RefreshResponseSchema,
  SSHKeySchema,
  accessTokenOf,
  bulk,
  DriveSchema,
  LicenseSchema,
  pageV2Schema,
  type ChargeItem,
  type ChargeResult,
  type JobsControlBrowseSshKeys,
  type JobUpdateItem,
  type SSHKey,
} from './control-api.js';

export interface JobsControlPort {
  /** One bulk call per chunk; any failure of a chunk throws (ControlApiError). */
  update(items: JobUpdateItem[]): Promise<void>;
  chargeCredits(items: ChargeItem[]): Promise<ChargeResult>;
  checkCredits(items: ChargeItem[]): Promise<ChargeResult>;
  /**
   * Like update, but a chunk Core rejects outright is split and resent until the jobs it refuses
   * are isolated; everyone else's updates are delivered. Throws only for what a later resend can
   * fix (transient, auth, invalid_response): the caller keeps its items and tries again.
   */
  deliverUpdates(items: JobUpdateItem[]): Promise<DeliveryOutcome>;
  /** chargeCredits with the same isolation. */
  deliverCharges(items: ChargeItem[]): Promise<ChargeOutcome>;
  /** JobsControl.retrieve: whether Core knows the job (false on 403/404; throws otherwise). */
  knowsJob(jobId: string): Promise<boolean>;
  browseSshKeys(jobId: string): Promise<SSHKey[]>;
  /** A drive's title (FileCollectionsControl.retrieve), for naming its mount as IM2 does; undefined when Core has no such drive. */
  driveTitle?(driveId: string): Promise<string | undefined>;
  /** The product of a license (LicensesControl.retrieve), for IM2's license string; undefined when Core has no such license. */
  licenseProduct?(licenseId: string): Promise<string | undefined>;
}

/**
 * What a refused job's items were refused for, decided by asking Core about the job itself
 * (knowsJob) once the job is the only one left in a rejected call:
 * - unknown_job: Core has no such job (403/404 from retrieve), e.g. it gave up on the create after
 *   its 5 s client timeout and deleted it. Nothing sent for it can ever succeed.
 * - refused: Core knows the job and still refused these items.
 * - undetermined: Core could not be asked (a transient failure); try again later.
 */
export type RejectionVerdict = 'unknown_job' | 'refused' | 'undetermined';

export interface RejectedJob {
  id: string;
  verdict: RejectionVerdict;
  /** Core's answer to the call that carried only this job's items. */
  error: ControlApiError;
}

export interface DeliveryOutcome {
  /** Jobs whose items Core did not take (every other item was delivered). */
  rejected: RejectedJob[];
}

export type ChargeOutcome = ChargeResult & DeliveryOutcome;

/**
 * Why a call failed, which decides who may try again:
 * - transient: 5xx, 408, 429, timeout, network. The client already retried; resend later.
 * - rejected: Core refused these items (other 4xx). Resending the same items will not help.
 * - auth: the provider's credentials failed (refresh refused, or 401 with a fresh token). The
 *   items are fine, so they stay retryable, but the client does not loop on it.
 * - invalid_response: Core answered 2xx with a body we cannot read.
 */
export type ControlErrorKind = 'transient' | 'rejected' | 'auth' | 'invalid_response';

export class ControlApiError extends Error {
  override readonly name = 'ControlApiError';
  /** HTTP status; 0 when no response arrived (timeout, network error). */
  readonly status: number;
  readonly why: string;
  readonly errorCode: string | undefined;
  /** True when sending the same items again later can succeed (callers must keep them). */
  readonly retryable: boolean;
  readonly kind: ControlErrorKind;
  /** The JobsControl call name, or `refresh` for the token exchange. */
  readonly call: string;
  /** No answer within requestTimeoutMs (status is 0). */
  readonly timedOut: boolean;
  /** Core's Retry-After on a 429/503, honoured (up to maxDelayMs) by the backoff. */
  readonly retryAfterMs: number | undefined;

  constructor(f: { status: number; why: string; errorCode?: string | null; kind: ControlErrorKind; call: string; timedOut?: boolean; retryAfterMs?: number }) {
    super(`UCloud/Core ${f.call} failed (${f.status || 'no response'}): ${f.why}`);
    this.status = f.status;
    this.why = f.why;
    this.errorCode = f.errorCode ?? undefined;
    this.kind = f.kind;
    this.retryable = f.kind === 'transient' || f.kind === 'auth';
    this.call = f.call;
    this.timedOut = f.timedOut ?? false;
    this.retryAfterMs = f.retryAfterMs;
  }
}

/** Whether resending later can succeed. Unknown errors count as retryable: keep the data. */
export function isRetryable(e: unknown): boolean {
  return e instanceof ControlApiError ? e.retryable : true;
}

export interface RetryPolicy {
  /** Total attempts per HTTP call, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface JobsControlClientOptions {
  coreUrl: string;
  refreshToken: string;
  logger: Logger;
  metrics?: OperatorMetrics;
  fetch?: typeof fetch;
  /** Items per HTTP call; UCloud answers 400 above 1000. */
  maxItemsPerCall?: number;
  retry?: RetryPolicy;
  requestTimeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source, for tests. */
  random?: () => number;
}

/** UCloud's IM renews when fewer than 3 minutes remain (shouldRenewTokenNow). */
const RENEW_BEFORE_MS = 3 * 60_000;
/** Core2's token lifetime, assumed when a token carries no readable `exp`. */
const ASSUMED_TOKEN_TTL_MS = 10 * 60_000;
const SSH_PAGE_SIZE = 250;
const MAX_SSH_PAGES = 1000;
const MAX_WHY_CHARS = 500;

type Call = 'update' | 'chargeCredits' | 'checkCredits' | 'browseSshKeys' | 'retrieve' | 'retrieveDrive' | 'retrieveLicense';

/** Where each call lives below /api (the drive call is FileCollectionsControl's retrieve). */
const CALL_PATH: Record<Call, string> = {
  update: 'jobs/control/update',
  chargeCredits: 'jobs/control/chargeCredits',
  checkCredits: 'jobs/control/checkCredits',
  browseSshKeys: 'jobs/control/browseSshKeys',
  retrieve: 'jobs/control/retrieve',
  retrieveDrive: 'files/collections/control/retrieve',
  retrieveLicense: 'licenses/control/retrieve',
};

export class JobsControlClient implements JobsControlPort {
  private token?: { value: string; expiresAt: number };
  private refreshing?: Promise<string>;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly maxItems: number;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: JobsControlClientOptions) {
    this.base = opts.coreUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
    this.maxItems = opts.maxItemsPerCall ?? MAX_BULK_ITEMS;
    if (!Number.isInteger(this.maxItems) || this.maxItems < 1 || this.maxItems > MAX_BULK_ITEMS) {
      throw new RangeError(`maxItemsPerCall must be an integer in 1..${MAX_BULK_ITEMS}`);
    }
    this.retry = opts.retry ?? { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };
    if (this.retry.attempts < 1) throw new RangeError('retry.attempts must be at least 1');
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = opts.random ?? Math.random;
    this.log = opts.logger;
  }

  /**
   * Chunks go out in order, one at a time, so Core sees a job's updates in the order given. If a
   * chunk finally fails, the chunks before it were delivered and the error says nothing about
   * them; callers that must know chunk themselves at maxItemsPerCall (as the reporter does).
   */
  async update(items: JobUpdateItem[]): Promise<void> {
    for (const chunk of chunks(items, this.maxItems)) await this.call('update', bulk(chunk), undefined);
  }

  chargeCredits(items: ChargeItem[]): Promise<ChargeResult> {
    return this.charge('chargeCredits', items);
  }

  checkCredits(items: ChargeItem[]): Promise<ChargeResult> {
    return this.charge('checkCredits', items);
  }

  async deliverUpdates(items: JobUpdateItem[]): Promise<DeliveryOutcome> {
    const { rejected } = await this.isolate('update', items, (chunk) => this.call('update', bulk(chunk), undefined));
    return { rejected };
  }

  async deliverCharges(items: ChargeItem[]): Promise<ChargeOutcome> {
    const { results, rejected } = await this.isolate('chargeCredits', items, (chunk) => this.call('chargeCredits', bulk(chunk), ChargeResultSchema));
    return { ...mergeChargeResults(results), rejected };
  }

  async knowsJob(jobId: string): Promise<boolean> {
    try {
      await this.call('retrieve', { id: jobId }, undefined, 'GET');
      return true;
    } catch (e) {
      // core2's JobsRetrieve answers 403 for an id it has no resource for (ResourceRetrieveEx in
      // core2/pkg/orchestrator/resources.go), Kotlin Core 404.
      if (e instanceof ControlApiError && e.kind === 'rejected' && (e.status === 403 || e.status === 404)) return false;
      throw e;
    }
  }

  /**
   * Sends `items` in chunks; a chunk Core rejects (a non-retryable 4xx) is split by job and each
   * half resent, depth first, so every job's items keep their order. Splitting stops at a single
   * job, whose items are then refused, and whose verdict comes from asking Core about it. core2
   * names the unknown id in update's 404 ("Not found or permission denied (<id>)", as IM2's
   * rejectedJobIdFromError reads it): that job is taken out at once instead of bisecting.
   * Resending items Core took before the bad one is safe: core2 validates a whole update batch
   * before applying any of it, and charges are absolute per chargeId (isDeltaCharge=false), so a
   * resend of a charged item overwrites it with the same value.
   */
  private async isolate<T extends { id: string }, R>(
    call: 'update' | 'chargeCredits',
    items: T[],
    send: (chunk: T[]) => Promise<R>,
  ): Promise<{ results: R[]; rejected: RejectedJob[] }> {
    const results: R[] = [];
    const refused = new Map<string, ControlApiError>();
    const go = async (chunk: T[]): Promise<void> => {
      const live = chunk.filter((it) => !refused.has(it.id));
      if (!live.length) return;
      try {
        results.push(await send(live));
        return;
      } catch (e) {
        if (!(e instanceof ControlApiError) || e.kind !== 'rejected') throw e;
        const ids = [...new Set(live.map((it) => it.id))];
        if (ids.length === 1) {
          refused.set(ids[0]!, e);
          return;
        }
        const named = namedJobId(e);
        const first = named !== undefined && ids.includes(named) ? new Set(ids.filter((id) => id !== named)) : new Set(ids.slice(0, Math.ceil(ids.length / 2)));
        this.log.info('UCloud/Core rejected a whole batch; splitting it', { call, items: live.length, jobs: ids.length, status: e.status, why: e.why });
        await go(live.filter((it) => first.has(it.id)));
        await go(live.filter((it) => !first.has(it.id)));
      }
    };
    for (const chunk of chunks(items, this.maxItems)) await go(chunk);
    const rejected: RejectedJob[] = [];
    for (const [id, error] of refused) {
      let verdict: RejectionVerdict;
      try {
        verdict = (await this.knowsJob(id)) ? 'refused' : 'unknown_job';
      } catch {
        verdict = 'undetermined';
      }
      this.opts.metrics?.rejectedJobs.inc({ call, verdict });
      this.log.warn('UCloud/Core refused the items of one job', { call, jobId: id, verdict, status: error.status, why: error.why });
      rejected.push({ id, verdict, error });
    }
    return { results, rejected };
  }

  async driveTitle(driveId: string): Promise<string | undefined> {
    return (await this.retrieveOrUndefined('retrieveDrive', driveId, DriveSchema))?.specification.title;
  }

  async licenseProduct(licenseId: string): Promise<string | undefined> {
    return (await this.retrieveOrUndefined('retrieveLicense', licenseId, LicenseSchema))?.specification.product.id;
  }

  /** A resource by id; undefined when Core has none (core2 answers 403, Kotlin Core 404). */
  private async retrieveOrUndefined<S extends z.ZodType>(call: 'retrieveDrive' | 'retrieveLicense', id: string, schema: S): Promise<z.infer<S> | undefined> {
    try {
      return (await this.call(call, { id }, schema, 'GET')) as z.infer<S>;
    } catch (e) {
      if (e instanceof ControlApiError && e.kind === 'rejected' && (e.status === 403 || e.status === 404)) return undefined;
      throw e;
    }
  }

  async browseSshKeys(jobId: string): Promise<SSHKey[]> {
    const pageSchema = pageV2Schema(SSHKeySchema);
    const keys: SSHKey[] = [];
    let next: string | null = null;
    for (let page = 0; page < MAX_SSH_PAGES; page++) {
      const req: JobsControlBrowseSshKeys = { jobId, itemsPerPage: SSH_PAGE_SIZE, next };
      const res = await this.call('browseSshKeys', req, pageSchema);
      keys.push(...res.items);
      if (!res.next) return keys;
      // A cursor that does not move would loop forever; Core would never send one on purpose.
      if (res.next === next) throw this.invalid('browseSshKeys', 'pagination cursor did not advance');
      next = res.next;
    }
    throw this.invalid('browseSshKeys', `more than ${MAX_SSH_PAGES} pages of SSH keys`);
  }

  private async charge(call: 'chargeCredits' | 'checkCredits', items: ChargeItem[]): Promise<ChargeResult> {
    const results: ChargeResult[] = [];
    for (const chunk of chunks(items, this.maxItems)) results.push(await this.call(call, bulk(chunk), ChargeResultSchema));
    return mergeChargeResults(results);
  }

  /** One HTTP call with token handling and retries; parses the answer with `schema` if given. */
  private async call<S extends z.ZodType | undefined>(
    call: Call,
    body: unknown,
    schema: S,
    method: 'GET' | 'POST' = 'POST',
  ): Promise<S extends z.ZodType ? z.infer<S> : undefined> {
    const items = countItems(body);
    let renewedOn401 = false;
    for (let attempt = 1; ;) {
      let started = performance.now();
      let err: ControlApiError;
      try {
        const token = await this.accessToken();
        started = performance.now(); // the refresh is timed under call=refresh
        const res =
          method === 'GET'
            ? await this.get(`${this.base}/api/${CALL_PATH[call]}?${new URLSearchParams(body as Record<string, string>)}`, token)
            : await this.post(`${this.base}/api/${CALL_PATH[call]}`, body, token);
        if (res.status === 401 && !renewedOn401) {
          // Core may have rotated keys or restarted; one fresh token settles it either way.
          renewedOn401 = true;
          await res.body?.cancel().catch(() => undefined);
          if (this.token?.value === token) this.token = undefined;
          this.observe(call, 'unauthorized', started);
          this.log.info('UCloud/Core refused the access token; renewing it', { call });
          continue;
        }
        const json = await this.readBody(res, call);
        const parsed = schema ? this.parseBody(schema, json, call) : undefined;
        this.observe(call, 'success', started);
        this.log.debug('UCloud/Core call succeeded', { call, items, attempt });
        return parsed as S extends z.ZodType ? z.infer<S> : undefined;
      } catch (e) {
        err = this.toControlError(e, call);
        // refresh() records its own failures under call=refresh.
        if (err.call === call) this.observe(call, outcomeOf(err), started);
      }
      const willRetry = err.kind === 'transient' && attempt < this.retry.attempts;
      const fields = { call, items, attempt, attempts: this.retry.attempts, status: err.status, errorCode: err.errorCode, why: err.why };
      if (!willRetry) {
        this.log.warn('UCloud/Core call failed', { ...fields, kind: err.kind });
        throw err;
      }
      const delayMs = this.backoff(attempt, err);
      this.log.warn('UCloud/Core call failed; retrying', { ...fields, delayMs });
      await this.sleep(delayMs);
      attempt++;
    }
  }

  /** Full jitter (AWS architecture blog): uniform in [0, min(max, base·2^(n-1))). */
  private backoff(attempt: number, err: ControlApiError): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    const jittered = Math.floor(this.random() * cap);
    const retryAfter = err.retryAfterMs;
    return retryAfter === undefined ? jittered : Math.min(this.retry.maxDelayMs, Math.max(jittered, retryAfter));
  }

  private observe(call: string, outcome: string, started: number): void {
    this.opts.metrics?.controlCalls.inc({ call, outcome });
    this.opts.metrics?.controlCallDuration.observe({ call }, (performance.now() - started) / 1000);
  }

  private post(url: string, body: unknown, token?: string): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    return this.fetchFn(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  private get(url: string, token: string): Promise<Response> {
    return this.fetchFn(url, {
      method: 'GET',
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  /** Returns the JSON body of a 2xx answer; throws a classified ControlApiError otherwise. */
  private async readBody(res: Response, call: string): Promise<unknown> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      if (res.ok) throw this.invalid(call, 'response is not JSON', res.status);
    }
    if (res.ok) return json;
    const body = (json ?? {}) as { why?: unknown; errorCode?: unknown };
    // Scrub before truncating: a cut-off credential would no longer match.
    const why = typeof body.why === 'string' && body.why ? this.scrub(body.why).slice(0, MAX_WHY_CHARS) : res.statusText || `HTTP ${res.status}`;
    const transient = res.status >= 500 || res.status === 429 || res.status === 408;
    const kind: ControlErrorKind = transient ? 'transient' : call === 'refresh' || res.status === 401 ? 'auth' : 'rejected';
    throw new ControlApiError({
      status: res.status,
      why,
      errorCode: typeof body.errorCode === 'string' && body.errorCode ? body.errorCode : undefined,
      kind,
      call,
      retryAfterMs: transient ? parseRetryAfter(res.headers.get('retry-after'), this.now()) : undefined,
    });
  }

  /** `why` ends up in logs and CR events; make sure Core echoing a credential cannot leak it. */
  private scrub(text: string): string {
    let out = text;
    for (const secret of [this.opts.refreshToken, this.token?.value]) {
      if (secret) out = out.split(secret).join('[redacted]');
    }
    return out;
  }

  private parseBody<S extends z.ZodType>(schema: S, json: unknown, call: string): z.infer<S> {
    const parsed = schema.safeParse(json ?? {});
    if (parsed.success) return parsed.data;
    const first = parsed.error.issues[0];
    throw this.invalid(call, `unexpected response body${first ? ` at ${first.path.join('.') || '(root)'}: ${first.message}` : ''}`);
  }

  private invalid(call: string, why: string, status = 200): ControlApiError {
    return new ControlApiError({ status, why, kind: 'invalid_response', call });
  }

  private toControlError(e: unknown, call: string): ControlApiError {
    if (e instanceof ControlApiError) return e;
    const name = (e as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ControlApiError({ status: 0, why: `no answer within ${this.timeoutMs}ms`, kind: 'transient', call, timedOut: true });
    }
    // fetch reports network failures as TypeError('fetch failed') with the reason in `cause`.
    const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
    const message = e instanceof Error ? e.message : String(e);
    return new ControlApiError({ status: 0, why: detail ? `${message} (${detail})` : message, kind: 'transient', call });
  }

  // --- access token ---------------------------------------------------------------------------
  /**
   * Exchanges the refresh token for an access token now, whatever is cached (the self-test: it
   * proves the credentials and Core's auth service work). Throws the refresh's ControlApiError.
   */
  async refreshNow(): Promise<void> {
    await this.refresh();
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt - this.now() > RENEW_BEFORE_MS) return this.token.value;
    // Concurrent callers share one refresh instead of stampeding Core's auth service.
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refresh(): Promise<string> {
    const started = performance.now();
    try {
      const res = await this.post(`${this.base}/auth/providers/refresh`, bulk([{ refreshToken: this.opts.refreshToken }]));
      const value = accessTokenOf(this.parseBody(RefreshResponseSchema, await this.readBody(res, 'refresh'), 'refresh'));
      // Core signs the token and verifies it itself; we only read `exp` to know when to renew.
      let expiresAt = this.now() + ASSUMED_TOKEN_TTL_MS;
      try {
        const exp = decodeJwt(value).exp;
        if (typeof exp === 'number') expiresAt = exp * 1000;
      } catch {
        // Not a JWT we can read: keep the assumed lifetime.
      }
      this.token = { value, expiresAt };
      this.observe('refresh', 'success', started);
      this.log.debug('Obtained a UCloud/Core access token', { expiresAt: new Date(expiresAt).toISOString() });
      return value;
    } catch (e) {
      const err = this.toControlError(e, 'refresh');
      this.observe('refresh', outcomeOf(err), started);
      throw err;
    }
  }
}

function outcomeOf(err: ControlApiError): string {
  if (err.kind !== 'transient') return err.kind;
  if (err.timedOut) return 'timeout';
  if (err.status === 0) return 'network_error';
  return 'server_error';
}

function countItems(body: unknown): number {
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? items.length : 1;
}

/** Retry-After is either delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function mergeChargeResults(results: readonly ChargeResult[]): ChargeResult {
  const insufficient = new Set<string>();
  const duplicate = new Set<string>();
  for (const res of results) {
    for (const f of res.insufficientFunds) insufficient.add(f.id);
    for (const f of res.duplicateCharges) duplicate.add(f.id);
  }
  return {
    insufficientFunds: [...insufficient].map((id) => ({ id })),
    duplicateCharges: [...duplicate].map((id) => ({ id })),
  };
}

/** The id core2 names in a rejected update ("Not found or permission denied (<id>)": ResourceValidateProviderBatch). */
function namedJobId(e: ControlApiError): string | undefined {
  if (e.status !== 404) return undefined;
  return /^not found or permission denied \((.+)\)$/i.exec(e.why)?.[1];
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

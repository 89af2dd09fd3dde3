// A UCloud/Core emulator on loopback for integration tests, the demo and benchmarks. It holds
// the provider's RSA key pair (Core signs both directions with it), calls the provider API with
// Core-style tokens, serves the provider's refresh and JobsControl calls, records everything,
// and injects faults (5xx, timeouts, insufficient funds) from a seeded PRNG so runs repeat.
//
// Where it matters it behaves as Go core2 does (UCloud's repository, core2/pkg/orchestrator),
// each rule next to the function it follows: Core knows a job only from its creation through
// the provider (or registerJobs, for tests that write UCloudJobs directly) until it deletes it;
// a batch naming an unknown job is refused whole; provider calls time out after 5 s.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, jwtVerify, type CryptoKey } from 'jose';
import { z } from 'zod';
import type { Logger } from '../../src/observability/log.js';
import WebSocket from 'ws';
import {
  JobsControlBrowseSshKeysSchema,
  RefreshRequestSchema,
  type JobState,
  type JobUpdate,
  type ResourceChargeCredits,
  type SSHKey,
} from '../../src/ucloud/control-api.js';

export interface Faults {
  /** Fraction of control calls answered with statusOnFail. */
  failRate?: number;
  /** Fraction of control calls held for timeoutMs and then dropped without an answer. */
  timeoutRate?: number;
  timeoutMs?: number;
  statusOnFail?: number;
  seed?: number;
  /**
   * Fraction of control calls Core carries out (records updates, books charges) whose answer is
   * then lost: the connection is cut, so the provider cannot tell it from a failure and resends.
   */
  lostAnswerRate?: number;
  /** Only these control calls (e.g. ['chargeCredits']) are subject to faults; empty or unset: all. */
  calls?: string[];
}

export interface CoreTokenClaims {
  sub: string;
  role: string;
  iss: string;
  expiresInSec: number;
  /** Shifts iat/exp, e.g. -3600 for a token issued an hour ago. */
  iatOffsetSec: number;
  /**
   * Forges the signature: 'none' sends an unsigned token, HS* signs with the public key as the
   * HMAC secret (the classic algorithm-confusion attack), other RS/PS algorithms use the real key.
   */
  alg: string;
}

const CONTROL_PREFIX = '/api/jobs/control/';
const REFRESH_PATH = '/auth/providers/refresh';

/** Deterministic PRNG (mulberry32) so a seeded fault pattern repeats run after run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Request bodies are decoded as core2's Go types are (rpc.ParseRequestFromBody: json.Unmarshal
// into the typed struct, any failure a 400 "Invalid request supplied"), so a client bug shows up
// as the 400 it would get in production. Go's rules: unknown fields are ignored; null leaves a
// plain field at its zero value and an Option absent; BulkRequest has no item limit (`items` may
// be absent or null: nothing to do); a number must fit its Go type.
const goString = z.string().nullish();
const goInt = z.number().int().nullish();
const goBool = z.boolean().nullish();
const UpdateRequest = z.object({
  items: z
    .array(
      z.object({
        id: goString,
        // orcapi.JobUpdate (provider-integration/shared/pkg/orchestrators/jobs.go). Timestamp is a
        // plain fnd.Timestamp whose UnmarshalJSON is strconv.ParseInt: `"timestamp": null` (or
        // 1.5, or a string) fails the whole request; absent is fine.
        update: z
          .object({
            state: goString,
            outputFolder: goString,
            status: goString,
            expectedState: goString,
            expectedDifferentState: goBool,
            newTimeAllocation: goInt,
            allowRestart: goBool,
            resourceList: z.array(z.unknown()).nullish(),
            timestamp: z.number().int().optional(),
          })
          .nullish(),
      }),
    )
    .nullish(),
});
// orcapi.JobsLegacyCheckCreditsRequest: id, chargeId, units, periods (int); nothing else read.
const ChargeRequest = z.object({
  items: z.array(z.object({ id: goString, chargeId: goString, units: goInt, periods: goInt })).nullish(),
});

/** core2's provider client timeout (providerClient in core2/pkg/orchestrator/orchestrator.go). */
export const CORE2_PROVIDER_TIMEOUT_MS = 5000;
/** core2 polls each provider's manifest and products this often (featureMonitorProvider, features.go). */
export const CORE2_POLL_INTERVAL_MS = 10_000;
/**
 * What core2 asks every provider each round (GET, query-style): featureMonitorProvider's manifest
 * and products, in its order (features.go), then brandingMonitorProvider's branding, its own 10 s
 * loop in core2 (provider_brandings.go), here in the same round.
 */
export const CORE2_POLLED_PATHS = [
  'integration/retrieveManifest',
  'files/collections/retrieveProducts',
  'jobs/retrieveProducts',
  'ingresses/retrieveProducts',
  'networkips/retrieveProducts',
  'licenses/retrieveProducts',
  'private-networks/retrieveProducts',
  'provider/branding/retrieveInfo',
] as const;

const FINAL: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'EXPIRED']);

/**
 * orcapi.AppParameterValue as Go marshals it (provider-integration/shared/pkg/orchestrators/
 * applications.go): no omitempty, so every field is there, zero-valued where the type does not use it.
 */
const GO_PARAMETER_VALUE = {
  type: '',
  path: '',
  mountPath: '',
  readOnly: false,
  value: null,
  hostname: '',
  jobId: '',
  id: '',
  specification: { applicationName: '', language: '', init: null, job: null, readme: null, inputs: null },
  modules: null,
  port: 0,
  tls: false,
  server: '',
  token: '',
  tokenType: '',
};

export interface Core2ShapeOptions {
  /**
   * The resolved application to send instead (a v2 application with a jinja invocation, e.g. from
   * the Go-built fixtures): the hook for jinja apps.
   */
  application?: (current: unknown) => unknown;
  /** The user's metric sample rate setting; core2's default (settings not toggled) is "0ms". */
  sampleRate?: string;
}

/**
 * A job as core2 sends it to the provider's create (JobCreate in core2/pkg/orchestrator/job.go),
 * from a job in the older shape: every parameter value with all its fields, the
 * `ucMetricSampleRate` text parameter core2 adds to every job without one (jobMetricSampleRateParam;
 * "0ms" unless the user's job settings are toggled), and the product category's
 * `accountingFrequency` (accapi.ProductCategory) derived from its unitOfPrice.
 */
export function core2JobShape<T>(job: T, opts: Core2ShapeOptions = {}): T {
  const out = structuredClone(job) as Record<string, any>;
  const spec = (out.specification ??= {});
  const goValue = (v: unknown) => ({ ...GO_PARAMETER_VALUE, ...(v as object) });
  spec.parameters = Object.fromEntries(Object.entries(spec.parameters ?? {}).map(([k, v]) => [k, goValue(v)]));
  spec.parameters.ucMetricSampleRate ??= goValue({ type: 'text', value: opts.sampleRate ?? '0ms' });
  spec.resources = Array.isArray(spec.resources) ? spec.resources.map(goValue) : null;
  const product = out.status?.resolvedProduct;
  if (product?.category && !product.category.accountingFrequency) {
    const unit = String(product.unitOfPrice ?? '');
    product.category.accountingFrequency = unit.endsWith('_PER_MINUTE')
      ? 'PERIODIC_MINUTE'
      : unit.endsWith('_PER_HOUR')
        ? 'PERIODIC_HOUR'
        : unit.endsWith('_PER_DAY')
          ? 'PERIODIC_DAY'
          : 'ONCE';
  }
  if (opts.application && out.status) out.status.resolvedApplication = opts.application(out.status.resolvedApplication);
  return out as T;
}

/** A job as Core holds it beyond its states (statesById): core2's resource record. */
interface CoreJob {
  /** ResourceConfirm: the provider answered the create. Unconfirmed jobs are found all the same. */
  confirmed: boolean;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly why: string,
    readonly errorCode: string,
  ) {
    super(why);
  }
}

export class UCloudCoreEmulator {
  readonly updates: Array<{ at: number; id: string; update: JobUpdate }> = [];
  /** Per job, its states in order with repeats folded (jobStates): a scan of `updates` per call
   *  made the 10,000-job benchmark's waits quadratic, and the harness took the operator's CPU. */
  private readonly statesById = new Map<string, JobState[]>();
  /** Updates Core did not apply because their expectedState / expectedDifferentState did not hold. */
  readonly skippedUpdates: Array<{ at: number; id: string; update: JobUpdate }> = [];
  /** Charges Core booked (core2 books item by item, so a refused batch keeps those before the bad id). */
  readonly charges: Array<{ at: number; item: ResourceChargeCredits }> = [];
  /** Jobs Core deleted: it gave up on their create (timeout, error) or a test made it forget them. */
  readonly deletedJobs: Array<{ at: number; id: string; why: string }> = [];
  /** Rounds of core2's manifest/products polling, each path with the status it got (0: no answer). */
  readonly polls: Array<{ at: number; path: string; status: number }> = [];
  private readonly jobs = new Map<string, CoreJob>();
  private providerTimeoutMs = CORE2_PROVIDER_TIMEOUT_MS;
  private pollTimer?: NodeJS.Timeout;
  readonly calls: Array<{ at: number; path: string; status: number; items: number }> = [];
  private injected = 0;
  private faults: Required<Faults> = { failRate: 0, timeoutRate: 0, timeoutMs: 15_000, statusOnFail: 503, seed: 1, lostAnswerRate: 0, calls: [] };
  private random = mulberry32(1);
  private readonly insufficient = new Set<string>();
  private readonly sshKeys = new Map<string, SSHKey[]>();
  private readonly held = new Map<ServerResponse, NodeJS.Timeout>();
  private readonly altKeys = new Map<string, Promise<CryptoKey>>();
  private baseUrl = '';
  private server?: Server;

  private constructor(
    readonly providerId: string,
    readonly refreshToken: string,
    private readonly keys: { privateKey: CryptoKey; publicKey: CryptoKey },
    private readonly spkiPem: string,
    private readonly accessTokenTtlSec: number,
    private readonly logger?: Logger,
  ) {}

  static async start(
    opts: { providerId?: string; refreshToken?: string; accessTokenTtlSec?: number; logger?: Logger; providerTimeoutMs?: number } = {},
  ): Promise<UCloudCoreEmulator> {
    // Core issues RSA-2048 provider keys; extractable so we can hand out the public half.
    const keys = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const emu = new UCloudCoreEmulator(
      opts.providerId ?? 'example',
      opts.refreshToken ?? randomBytes(24).toString('hex'),
      keys,
      await exportSPKI(keys.publicKey),
      opts.accessTokenTtlSec ?? 600,
      opts.logger?.child({ component: 'ucloud-core-emulator' }),
    );
    const server = createServer((req, res) => {
      emu.handle(req, res).catch((e: unknown) => {
        emu.logger?.error('emulator handler crashed', { err: e });
        if (!res.headersSent) emu.reply(res, req.url ?? '', 500, { why: 'emulator error', errorCode: 'INTERNAL_ERROR' }, 0);
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    emu.server = server;
    if (opts.providerTimeoutMs !== undefined) emu.providerTimeoutMs = opts.providerTimeoutMs;
    emu.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return emu;
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return this.baseUrl;
  }

  /** Control calls answered with an injected failure or held until timeout. */
  get faultsInjected(): number {
    return this.injected;
  }

  publicKeyPem(): string {
    return this.spkiPem;
  }

  /** The provider public key as UCloud issues it: base64 DER SPKI without a PEM header. */
  publicKeyBase64Der(): string {
    return this.spkiPem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  }

  /** A token like the ones Core sends the provider (override claims to forge bad ones). */
  async signCoreToken(claims: Partial<CoreTokenClaims> = {}): Promise<string> {
    const iat = Math.floor(Date.now() / 1000) + (claims.iatOffsetSec ?? 0);
    const exp = iat + (claims.expiresInSec ?? 600);
    // Kotlin Core adds uid 42 and an empty extendedByChain; core2 omits them. Both verify alike.
    const payload = { role: claims.role ?? 'SERVICE', principalType: 'service', aud: ['all:write'], uid: 42, extendedByChain: [] };
    const iss = claims.iss ?? 'cloud.sdu.dk';
    const sub = claims.sub ?? '_UCloud';
    const alg = claims.alg ?? 'RS256';
    if (alg === 'none') {
      return new UnsecuredJWT(payload).setIssuer(iss).setSubject(sub).setIssuedAt(iat).setExpirationTime(exp).encode();
    }
    const jwt = new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).setIssuer(iss).setSubject(sub).setIssuedAt(iat).setExpirationTime(exp);
    if (alg.startsWith('HS')) return jwt.sign(new TextEncoder().encode(this.spkiPem));
    return jwt.sign(alg === 'RS256' ? this.keys.privateKey : await this.keyFor(alg));
  }

  /** WebCrypto binds a key to one hash, so other RSA algorithms need the key re-imported. */
  private keyFor(alg: string): Promise<CryptoKey> {
    let key = this.altKeys.get(alg);
    if (!key) {
      key = exportPKCS8(this.keys.privateKey).then((pem) => importPKCS8(pem, alg));
      this.altKeys.set(alg, key);
    }
    return key;
  }

  private async signProviderToken(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: 'PROVIDER', principalType: 'provider' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer('cloud.sdu.dk')
      .setSubject(`#P_${this.providerId}`)
      .setIssuedAt(now)
      .setExpirationTime(now + this.accessTokenTtlSec)
      .sign(this.keys.privateKey);
  }

  /**
   * Calls the provider as UCloud/Core does. `token: null` sends no Authorization header. Like
   * core2's provider client (providerClient, orchestrator.go: http.Client{Timeout: 5s}) it gives
   * up after 5 s: the answer is then `{status: 0, body: {timedOut: true}}`. A create
   * (POST /ucloud/<id>/jobs) registers its jobs first and deletes them again when the provider
   * fails or times out, as jobCreateThroughProvider (core2/pkg/orchestrator/job.go) does with
   * ResourceCreate, InvokeProvider and ResourceDelete; the provider may well have created them.
   * core2 sends one job per create; a body with several is registered item by item alike.
   */
  async callProvider<T = unknown>(
    providerBaseUrl: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts: { token?: string | null; rawBody?: string; timeoutMs?: number; contentType?: string; username?: string; kotlinShape?: boolean } = {},
  ): Promise<{ status: number; body: T }> {
    const token = opts.token === undefined ? await this.signCoreToken() : opts.token;
    // Headers as core2's rpc client sends them (provider-integration/shared/pkg/rpc/client.go: only
    // Authorization; InvokeProvider in core2/pkg/orchestrator/orchestrator.go adds the acting user
    // base64-encoded as ucloud-username): no Content-Type, no Accept.
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.contentType) headers['content-type'] = opts.contentType;
    const isCreate = method === 'POST' && path.split('?')[0] === `/ucloud/${this.providerId}/jobs`;
    // core2's create (jobCreateThroughProvider, job.go) acts for the job's creator.
    const username = opts.username ?? (isCreate ? ownerOf(body) : undefined);
    if (username) headers['ucloud-username'] = Buffer.from(username).toString('base64');
    // Jobs leave core2 in Go's shape (every value field present, ucMetricSampleRate, the category's
    // accountingFrequency); `kotlinShape` keeps a test's body exactly as written.
    if (isCreate && !opts.kotlinShape && opts.rawBody === undefined) body = reshapeItems(body);
    // core2 makes a new resource per create; an id it has already (a test resending a create)
    // is not this call's to delete.
    const creating = isCreate ? jobIdsOf(body).filter((id) => !this.jobs.has(id)) : [];
    for (const id of creating) this.registerJob(id, false);
    let res: Response;
    try {
      res = await fetch(`${providerBaseUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers,
        body: opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.providerTimeoutMs),
      });
    } catch (e) {
      for (const id of creating) this.forgetJob(id, `create failed: ${(e as Error).name}`);
      if ((e as Error).name === 'TimeoutError') return { status: 0, body: { timedOut: true } as T };
      throw e;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: hand back the text so the test can show what came back.
    }
    for (const id of creating) {
      if (res.ok)
        this.jobs.get(id)!.confirmed = true; // ResourceConfirm
      else this.forgetJob(id, `create answered ${res.status}`);
    }
    return { status: res.status, body: parsed as T };
  }

  /**
   * Jobs Core knows without a create through the provider: for tests and benchmarks that write
   * UCloudJobs directly, as if Core had created them (ResourceCreate + ResourceConfirm).
   */
  registerJobs(ids: Iterable<string>): void {
    for (const id of ids) this.registerJob(id, true);
  }

  private registerJob(id: string, confirmed: boolean): void {
    if (!this.jobs.has(id)) this.jobs.set(id, { confirmed });
  }

  /** Core deletes the job (ResourceDelete): from now on every call naming it is refused. */
  forgetJob(id: string, why = 'forgotten by the test'): void {
    if (!this.jobs.delete(id)) return;
    this.deletedJobs.push({ at: Date.now(), id, why });
  }

  /** Whether Core has this job (created or registered, not deleted). */
  knowsJob(id: string): boolean {
    return this.jobs.has(id);
  }

  /**
   * Polls the provider as core2's featureMonitorProvider does (features.go): every 10 s the
   * manifest, then every resource type's retrieveProducts (and the branding,
   * brandingMonitorProvider), each a GET with a 5 s timeout, records
   * what came back in `polls`. Runs until stopPolling() or close().
   */
  startPolling(providerBaseUrl: string, intervalMs = CORE2_POLL_INTERVAL_MS): void {
    this.stopPolling();
    const round = async () => {
      for (const p of CORE2_POLLED_PATHS) {
        const path = `/ucloud/${this.providerId}/${p}`;
        const res = await this.callProvider(providerBaseUrl, 'GET', path).catch(() => ({ status: 0 }));
        this.polls.push({ at: Date.now(), path, status: res.status });
      }
      if (this.pollTimer) this.pollTimer = setTimeout(() => void round(), intervalMs).unref();
    };
    this.pollTimer = setTimeout(() => void round(), 0).unref();
  }

  stopPolling(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  /**
   * Follows a job's logs as core2 does (JobsFollow in core2/pkg/orchestrator/job.go): a WebSocket
   * to /ucloud/jobs.provider.<id>/websocket?usernameHint=<base64url user> with Core's token,
   * exactly one frame (`init`, streamId "ignored", the job), then only reading. core2 never sends
   * a cancel; it closes the socket when the user goes away. `close()` does that.
   */
  async followAsCore(providerBaseUrl: string, job: unknown, username = 'user'): Promise<{ frames: unknown[]; closed: Promise<void>; close(): void }> {
    const url = `${providerBaseUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/ucloud/jobs.provider.${this.providerId}/websocket?usernameHint=${Buffer.from(username).toString('base64url')}`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${await this.signCoreToken()}` } });
    const frames: unknown[] = [];
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data) => {
      try {
        frames.push(JSON.parse(data.toString('utf8')));
      } catch {
        frames.push(data.toString('utf8'));
      }
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // rpc.WSRequestMessage as Go marshals it: bearer "" and project null are sent too.
    ws.send(
      JSON.stringify({ call: `jobs.provider.${this.providerId}.follow`, streamId: 'ignored', payload: { type: 'init', job }, bearer: '', project: null }),
    );
    return { frames, closed, close: () => ws.close() };
  }

  /** States reported for a job, consecutive repeats collapsed (Core treats them as no-ops). */
  jobStates(id: string): JobState[] {
    return [...(this.statesById.get(id) ?? [])];
  }

  /** Core semantics (isDeltaCharge=false, scope=chargeId): per chargeId the last periods win. */
  chargedPeriods(id: string): number {
    const byChargeId = new Map<string, number>();
    for (const c of this.charges) if (c.item.id === id) byChargeId.set(c.item.chargeId, c.item.periods);
    let sum = 0;
    for (const p of byChargeId.values()) sum += p;
    return sum;
  }

  /** chargeIds that arrived with different periods (must never happen: resends are identical). */
  conflictingCharges(): string[] {
    const seen = new Map<string, number>();
    const bad = new Set<string>();
    for (const c of this.charges) {
      const prev = seen.get(c.item.chargeId);
      if (prev !== undefined && prev !== c.item.periods) bad.add(c.item.chargeId);
      seen.set(c.item.chargeId, c.item.periods);
    }
    return [...bad];
  }

  async waitFor(pred: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`UCloud/Core emulator: timed out after ${timeoutMs}ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Merges into the current faults and restarts the PRNG from the (possibly new) seed. */
  setFaults(f: Faults): void {
    this.faults = { ...this.faults, ...f };
    this.random = mulberry32(this.faults.seed);
  }

  setInsufficientFunds(jobIds: string[]): void {
    this.insufficient.clear();
    for (const id of jobIds) this.insufficient.add(id);
  }

  setSshKeys(jobId: string, keys: SSHKey[]): void {
    this.sshKeys.set(jobId, [...keys]);
  }

  /** Forgets everything recorded and configured (faults, funds, SSH keys, jobs); keys and URL stay. */
  reset(): void {
    this.stopPolling();
    this.jobs.clear();
    this.deletedJobs.length = 0;
    this.polls.length = 0;
    this.updates.length = 0;
    this.statesById.clear();
    this.skippedUpdates.length = 0;
    this.charges.length = 0;
    this.calls.length = 0;
    this.injected = 0;
    this.faults = { failRate: 0, timeoutRate: 0, timeoutMs: 15_000, statusOnFail: 503, seed: 1, lostAnswerRate: 0, calls: [] };
    this.random = mulberry32(1);
    this.insufficient.clear();
    this.sshKeys.clear();
    this.dropHeld();
  }

  async close(): Promise<void> {
    this.stopPolling();
    this.dropHeld();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private dropHeld(): void {
    for (const [res, timer] of this.held) {
      clearTimeout(timer);
      res.destroy();
    }
    this.held.clear();
  }

  // --- server side -----------------------------------------------------------------------
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      return this.reply(res, path, 400, { statusCode: 400, why: 'Invalid request supplied', errorCode: '', detailedCode: 0 }, 0);
    }
    const rawItems = (body as { items?: unknown } | null)?.items;
    const items = Array.isArray(rawItems) ? rawItems.length : 0;

    if (req.method === 'POST' && path === REFRESH_PATH) {
      const parsed = RefreshRequestSchema.safeParse(body);
      if (!parsed.success || parsed.data.items[0]!.refreshToken !== this.refreshToken) {
        return this.reply(res, path, 401, { why: 'invalid refresh token', errorCode: 'UNAUTHENTICATED' }, items);
      }
      const responses = await Promise.all(parsed.data.items.map(async () => ({ accessToken: await this.signProviderToken(), csrfToken: '' })));
      return this.reply(res, path, 200, { responses }, items);
    }
    if (req.method === 'GET' && path === `${CONTROL_PREFIX}retrieve`) {
      if (!(await this.authorised(req.headers.authorization))) {
        return this.reply(res, path, 401, { why: 'a valid provider access token is required', errorCode: 'UNAUTHENTICATED' }, 0);
      }
      try {
        return this.reply(res, path, 200, this.retrieve(new URL(req.url ?? '', 'http://x').searchParams.get('id') ?? ''), 1);
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        return this.reply(res, path, e.status, { statusCode: e.status, why: e.why, errorCode: e.errorCode, detailedCode: 0 }, 1);
      }
    }
    if (req.method !== 'POST' || !path.startsWith(CONTROL_PREFIX)) {
      return this.reply(res, path, 404, { why: `no such call: ${req.method} ${path}`, errorCode: 'NOT_FOUND' }, items);
    }
    if (!(await this.authorised(req.headers.authorization))) {
      return this.reply(res, path, 401, { why: 'a valid provider access token is required', errorCode: 'UNAUTHENTICATED' }, items);
    }

    // Faults strike before Core processes anything, so an injected failure records nothing
    // (except a lost answer, which strikes after).
    const call = path.slice(CONTROL_PREFIX.length);
    const faulty = !this.faults.calls.length || this.faults.calls.includes(call);
    const roll = faulty ? this.random() : 1;
    if (roll < this.faults.timeoutRate) {
      this.injected++;
      this.calls.push({ at: Date.now(), path, status: 0, items });
      this.logger?.debug('injecting timeout', { path, items });
      const timer = setTimeout(() => {
        this.held.delete(res);
        res.destroy();
      }, this.faults.timeoutMs);
      timer.unref();
      this.held.set(res, timer);
      res.once('close', () => {
        clearTimeout(timer);
        this.held.delete(res);
      });
      return;
    }
    if (roll < this.faults.timeoutRate + this.faults.failRate) {
      this.injected++;
      this.logger?.debug('injecting failure', { path, items, status: this.faults.statusOnFail });
      return this.reply(res, path, this.faults.statusOnFail, { why: 'injected fault', errorCode: 'INTERNAL_ERROR' }, items);
    }

    const loseAnswer = faulty && roll < this.faults.timeoutRate + this.faults.failRate + this.faults.lostAnswerRate;
    try {
      const answer = this.control(call, body);
      if (loseAnswer) {
        this.injected++;
        this.calls.push({ at: Date.now(), path, status: 0, items });
        this.logger?.debug('losing the answer of a processed call', { path, items });
        res.destroy();
        return;
      }
      return this.reply(res, path, 200, answer, items);
    } catch (e) {
      if (!(e instanceof HttpFailure)) throw e;
      // util.HttpError as core2 marshals it (provider-integration/shared/pkg/util/http.go).
      return this.reply(res, path, e.status, { statusCode: e.status, why: e.why, errorCode: e.errorCode, detailedCode: 0 }, items);
    }
  }

  private control(call: string, body: unknown): unknown {
    const at = Date.now();
    switch (call) {
      case 'update': {
        const items = parseOr400(UpdateRequest, body).items ?? [];
        // Record what was sent, not the parsed copy, so tests compare exactly what went out.
        const raw = ((body as { items?: Array<{ id: string; update: JobUpdate }> | null }).items ?? []).map((it) => ({
          id: it.id ?? '',
          update: it.update ?? {},
        }));
        // JobsControlAddUpdate (core2/pkg/orchestrator/job.go): every id is validated first
        // (ResourceValidateProviderBatch, resources.go); one unknown id refuses the whole batch
        // with 404 and nothing of it is applied.
        for (const it of items) {
          const id = it.id ?? '';
          if (!this.jobs.has(id)) throw new HttpFailure(404, `Not found or permission denied (${id})`, '');
        }
        for (const it of raw) {
          // Per update, as core2's ResourceUpdate callback decides shouldApply: with
          // expectedState, only in that state; else with expectedDifferentState (and a state),
          // only if it changes the state; never from a final state back to a non-final one. An
          // update that does not apply is dropped whole (its status text too), and recorded
          // apart: it never happened as far as the job's timeline is concerned.
          const u = it.update;
          const current = this.statesById.get(it.id)?.at(-1) ?? 'IN_QUEUE';
          let apply = true;
          if (u.expectedState != null) apply = current === u.expectedState;
          else if (u.expectedDifferentState && u.state != null) apply = current !== u.state;
          if (FINAL.has(current) && u.state != null && !FINAL.has(u.state)) apply = false;
          if (!apply) {
            this.skippedUpdates.push({ at, id: it.id, update: u });
            continue;
          }
          if (u.state != null) {
            const states = this.statesById.get(it.id) ?? [];
            if (states.at(-1) !== u.state) states.push(u.state as JobState);
            this.statesById.set(it.id, states);
          }
          this.updates.push({ at, id: it.id, update: u });
        }
        return {};
      }
      case 'chargeCredits':
      case 'checkCredits': {
        const items = parseOr400(ChargeRequest, body).items ?? [];
        const insufficientFunds: Array<{ id: string }> = [];
        for (const it of items) {
          const id = it.id ?? '';
          // JobsControlChargeCredits / CheckCredits (job.go) go item by item: JobsRetrieve of an
          // unknown id fails (ResourceRetrieveEx answers 403 for a resource it does not have) and
          // the call answers 400 at once. Charges booked for the items before it stay booked.
          if (!this.jobs.has(id)) throw new HttpFailure(400, 'Could not fetch jobs: 403 Write permission is required', '');
          const item: ResourceChargeCredits = { id, chargeId: it.chargeId ?? '', units: it.units ?? 0, periods: it.periods ?? 0 };
          // ReportUsage with IsDeltaCharge=false, scoped by chargeId: absolute per scope, so a
          // resend overwrites (chargedPeriods). Booked even when the wallet is empty; the
          // provider must stop the job.
          if (call === 'chargeCredits') this.charges.push({ at, item });
          if (this.insufficient.has(id) && !insufficientFunds.some((f) => f.id === id)) insufficientFunds.push({ id });
        }
        return { insufficientFunds, duplicateCharges: [] };
      }
      case 'browseSshKeys': {
        const req = parseOr400(JobsControlBrowseSshKeysSchema, body);
        const all = this.sshKeys.get(req.jobId) ?? [];
        const per = Math.min(Math.max(req.itemsPerPage ?? 50, 1), 250);
        const from = req.next ? Number.parseInt(req.next, 10) : 0;
        if (!Number.isInteger(from) || from < 0) throw new HttpFailure(400, 'invalid next token', 'BAD_REQUEST');
        const next = from + per < all.length ? String(from + per) : null;
        return { items: all.slice(from, from + per), itemsPerPage: per, next };
      }
      default:
        throw new HttpFailure(404, `no such call: ${CONTROL_PREFIX}${call}`, 'NOT_FOUND');
    }
  }

  /** JobsControlRetrieve (job.go → JobsRetrieve): 403 for a job Core does not have. */
  private retrieve(id: string): unknown {
    if (!this.jobs.has(id)) throw new HttpFailure(403, 'Write permission is required', '');
    return { id, status: { state: this.statesById.get(id)?.at(-1) ?? 'IN_QUEUE' }, updates: [], specification: {} };
  }

  private async authorised(header: string | undefined): Promise<boolean> {
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    if (!token) return false;
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, { algorithms: ['RS256'], issuer: 'cloud.sdu.dk' });
      return payload.sub === `#P_${this.providerId}` && payload.role === 'PROVIDER';
    } catch {
      return false;
    }
  }

  private reply(res: ServerResponse, path: string, status: number, body: unknown, items: number): void {
    this.calls.push({ at: Date.now(), path, status, items });
    this.logger?.debug('answered', { path, status, items });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

/** core2's answer to a body its Go type cannot hold (rpc.ParseRequestFromBody: one text for all). */
function parseOr400<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new HttpFailure(400, 'Invalid request supplied', '');
}

/** The job ids of a create body ({items: [{id}]}), for Core's registration of them. */
/** The creator of a create's first job (core2 sends one job per create). */
function ownerOf(body: unknown): string | undefined {
  const first = ((body as { items?: unknown[] } | null)?.items ?? [])[0] as { owner?: { createdBy?: unknown } } | undefined;
  return typeof first?.owner?.createdBy === 'string' ? first.owner.createdBy : undefined;
}

function reshapeItems(body: unknown): unknown {
  const b = body as { items?: unknown } | null;
  if (!b || !Array.isArray(b.items)) return body;
  return { ...b, items: b.items.map((j) => (j && typeof j === 'object' ? core2JobShape(j) : j)) };
}

function jobIdsOf(body: unknown): string[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return [];
  return items.flatMap((it) => (typeof (it as { id?: unknown } | null)?.id === 'string' ? [(it as { id: string }).id] : []));
}

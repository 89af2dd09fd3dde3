// A UCloud/Core emulator on loopback for integration tests, the demo and benchmarks. It holds
// the provider's RSA key pair (Core signs both directions with it), calls the provider API with
// Core-style tokens, serves the provider's refresh and JobsControl calls, records everything,
// and injects faults (5xx, timeouts, insufficient funds) from a seeded PRNG so runs repeat.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, jwtVerify, type CryptoKey } from 'jose';
import { z } from 'zod';
import type { Logger } from '../../src/observability/log.js';
import {
  JobUpdateItemSchema,
  JobsControlBrowseSshKeysSchema,
  RefreshRequestSchema,
  ResourceChargeCreditsSchema,
  bulkRequestSchema,
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

// Requests are validated as Kotlin Core would (1..1000 items, typed fields), so a client bug
// shows up as the 400 it would get in production rather than as a silently recorded oddity.
const UpdateRequest = bulkRequestSchema(JobUpdateItemSchema);
const ChargeRequest = bulkRequestSchema(ResourceChargeCreditsSchema);

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
  readonly charges: Array<{ at: number; item: ResourceChargeCredits }> = [];
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
    opts: { providerId?: string; refreshToken?: string; accessTokenTtlSec?: number; logger?: Logger } = {},
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
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg, typ: 'JWT' })
      .setIssuer(iss)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setExpirationTime(exp);
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

  /** Calls the provider as UCloud/Core does. `token: null` sends no Authorization header. */
  async callProvider<T = unknown>(
    providerBaseUrl: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts: { token?: string | null; rawBody?: string } = {},
  ): Promise<{ status: number; body: T }> {
    const token = opts.token === undefined ? await this.signCoreToken() : opts.token;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined || opts.rawBody !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${providerBaseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers,
      body: opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: hand back the text so the test can show what came back.
    }
    return { status: res.status, body: parsed as T };
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

  /** Forgets everything recorded and configured (faults, funds, SSH keys); keys and URL stay. */
  reset(): void {
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
    let body: unknown = {};
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      return this.reply(res, path, 400, { why: 'request body is not JSON', errorCode: 'BAD_REQUEST' }, 0);
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
      return this.reply(res, path, e.status, { why: e.why, errorCode: e.errorCode }, items);
    }
  }

  private control(call: string, body: unknown): unknown {
    const at = Date.now();
    switch (call) {
      case 'update': {
        parseOr400(UpdateRequest, body);
        // Record what was sent, not the parsed copy, so tests compare exactly what went out.
        const raw = (body as { items: Array<{ id: string; update: JobUpdate }> }).items;
        for (const it of raw) {
          // Core's preconditions: a state update with expectedState applies only in that state,
          // one with expectedDifferentState only if it changes the state. A skipped update is
          // recorded apart: it never happened as far as the job's timeline is concerned.
          const u = it.update;
          const current = this.statesById.get(it.id)?.at(-1) ?? 'IN_QUEUE';
          if (u.state && ((u.expectedState && u.expectedState !== current) || (u.expectedDifferentState && u.state === current))) {
            this.skippedUpdates.push({ at, id: it.id, update: u });
            continue;
          }
          if (u.state) {
            const states = this.statesById.get(it.id) ?? [];
            if (states[states.length - 1] !== u.state) states.push(u.state);
            this.statesById.set(it.id, states);
          }
          this.updates.push({ at, id: it.id, update: u });
        }
        return {};
      }
      case 'chargeCredits':
      case 'checkCredits': {
        const req = parseOr400(ChargeRequest, body);
        const insufficientFunds: Array<{ id: string }> = [];
        for (const item of req.items) {
          // Core books the usage even when the wallet is empty; the provider must stop the job.
          if (call === 'chargeCredits') this.charges.push({ at, item });
          if (this.insufficient.has(item.id) && !insufficientFunds.some((f) => f.id === item.id)) insufficientFunds.push({ id: item.id });
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

function parseOr400<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  throw new HttpFailure(400, `invalid request${first ? ` at ${first.path.join('.') || '(root)'}: ${first.message}` : ''}`, 'BAD_REQUEST');
}

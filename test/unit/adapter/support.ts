// Shared set-up for the adapter tests: a real RS256 keypair, tokens signed as UCloud/Core signs
// them, and the adapter listening on loopback over a FakeKube.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { createAdapterApp, type AdapterDeps } from '../../../src/adapter/app.js';
import { jobResourceName } from '../../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../../src/config.js';
import { rootLogger } from '../../../src/observability/log.js';
import { OperatorMetrics } from '../../../src/observability/metrics.js';
import type { Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { parsedSpecJob } from '../../support/job-factory.js';

export const NS = 'ucloud-jobs';
export const PROVIDER = 'example';

export interface Keys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  pem: string;
  /** What UCloud hands a provider: base64 DER SPKI, no header. */
  der: string;
}

export async function makeKeys(): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const pem = await exportSPKI(publicKey);
  const der = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  return { privateKey, publicKey, pem, der };
}

/** A token as UCloud/Core mints one for calling a provider; `claims` overrides or (undefined) removes. */
export async function coreToken(key: CryptoKey, claims: Record<string, unknown> = {}, alg = 'RS256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: '_UCloud',
    role: 'SERVICE',
    principalType: 'service',
    aud: ['all:write'],
    iss: 'cloud.sdu.dk',
    iat: now,
    exp: now + 600,
    uid: 42,
    extendedByChain: [],
    ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

export function adapterConfig(publicKey: string, overrides: Record<string, unknown> = {}): OperatorConfig {
  return unitConfig({
    ucloud: { coreUrl: 'http://127.0.0.1:1', publicKey, refreshToken: 'refresh-token-not-used-here' },
    ...overrides,
  });
}

export interface Harness {
  url: string;
  kube: FakeKube;
  metrics: OperatorMetrics;
  config: OperatorConfig;
  token: string;
  unknownJobs: string[][];
  /** A call with the valid token (or `token: null` for none). */
  call(method: string, path: string, body?: unknown, opts?: { token?: string | null; raw?: string; headers?: Record<string, string> }): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export async function startAdapter(keys: Keys, opts: { config?: OperatorConfig; kube?: FakeKube; deps?: Partial<AdapterDeps> } = {}): Promise<Harness> {
  const config = opts.config ?? adapterConfig(keys.der);
  const kube = opts.kube ?? new FakeKube();
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const unknownJobs: string[][] = [];
  const app = createAdapterApp({
    config,
    kube,
    logger: rootLogger.child({ component: 'adapter-test' }),
    metrics,
    onUnknownJobs: (ids) => void unknownJobs.push(ids),
    now: () => new Date('2030-01-02T03:04:05.000Z'),
    ...opts.deps,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await coreToken(keys.privateKey);
  return {
    url,
    kube,
    metrics,
    config,
    token,
    unknownJobs,
    async call(method, path, body, o = {}) {
      const t = o.token === undefined ? token : o.token;
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (t !== null) headers.authorization = `Bearer ${t}`;
      let payload: string | undefined = o.raw;
      if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
      if (payload !== undefined) headers['content-type'] ??= 'application/json; charset=utf-8';
      const res = await fetch(url + path, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const jobsPath = (op = '') => `/ucloud/${PROVIDER}/jobs${op ? `/${op}` : ''}`;

/** The spec fixture's Job with another id (and any change). */
export function simpleJob(id = '54112', change?: (j: Job) => void): Job {
  const j = parsedSpecJob(id);
  change?.(j);
  return j;
}

export async function storedJob(kube: FakeKube, id: string): Promise<UCloudJob | undefined> {
  return kube.peek<UCloudJob>('UCloudJob', NS, jobResourceName(id));
}

/** Current value of a counter series, or 0. */
export async function counter(metrics: OperatorMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const v = values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

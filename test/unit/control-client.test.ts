import nock from 'nock';
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import { rootLogger, setLogLevel } from '../../src/observability/log.js';
import { OperatorMetrics } from '../../src/observability/metrics.js';
import { ControlApiError, JobsControlClient, isRetryable, type JobsControlClientOptions } from '../../src/ucloud/control-client.js';
import type { ChargeItem, JobUpdateItem, SSHKey } from '../../src/ucloud/control-api.js';
import { captureLogs } from '../support/logs.js';

// Port 1 on loopback: nock answers everything, and nothing could connect there anyway.
const CORE = 'http://127.0.0.1:1';
const REFRESH_TOKEN = 'rt-0123456789abcdef-SECRET';
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

let privateKey: CryptoKey;

beforeAll(async () => {
  nock.disableNetConnect();
  ({ privateKey } = await generateKeyPair('RS256'));
});
afterEach(() => {
  // A reply held with .delay() that the client gave up on still has nock's timer pending (10 s in
  // the timeout tests): cleared here, or it keeps the Jest worker alive after its last file.
  nock.abortPendingRequests();
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore(); // unpatch http/fetch for whatever runs next in this worker
});

/** A provider access token as Core issues it, expiring `ttlSec` after `issuedAtMs`. */
async function accessToken(issuedAtMs = T0, ttlSec = 600, tag = 'a'): Promise<string> {
  const iat = Math.floor(issuedAtMs / 1000);
  return new SignJWT({ role: 'PROVIDER', principalType: 'provider', tag })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer('cloud.sdu.dk')
    .setSubject('#P_example')
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSec)
    .sign(privateKey);
}

interface Harness {
  client: JobsControlClient;
  sleeps: number[];
  clock: { now: number };
  metrics: OperatorMetrics;
}

function makeClient(over: Partial<JobsControlClientOptions> = {}): Harness {
  const sleeps: number[] = [];
  const clock = { now: T0 };
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const client = new JobsControlClient({
    coreUrl: CORE,
    refreshToken: REFRESH_TOKEN,
    logger: rootLogger.child({ test: 'control-client' }),
    metrics,
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
    requestTimeoutMs: 2000,
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...over,
  });
  return { client, sleeps, clock, metrics };
}

function refreshOnce(token: string, shape: 'go' | 'kotlin' = 'go'): nock.Scope {
  return nock(CORE)
    .post('/auth/providers/refresh', { items: [{ refreshToken: REFRESH_TOKEN }] })
    .reply(200, shape === 'go' ? { responses: [{ accessToken: token, csrfToken: '' }] } : { accessToken: token });
}

function bearer(token: string) {
  return { reqheaders: { authorization: `Bearer ${token}` } };
}

const running = (id: string): JobUpdateItem => ({ id, update: { state: 'RUNNING', status: 'running' } });
const charge = (id: string, periods = 1): ChargeItem => ({ id, chargeId: `${id}-w1`, units: 1, periods });

async function counter(metrics: OperatorMetrics, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.controlCalls.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val)).reduce((s, v) => s + v.value, 0);
}

describe('JobsControlClient: access token', () => {
  it('refreshes on the first call and sends the token as a bearer', async () => {
    const tok = await accessToken();
    const scope = refreshOnce(tok);
    nock(CORE, bearer(tok))
      .post('/api/jobs/control/update', { items: [running('1')] })
      .reply(200, {});
    const { client, metrics } = makeClient();
    await client.update([running('1')]);
    expect(scope.isDone()).toBe(true);
    expect(nock.isDone()).toBe(true);
    expect(await counter(metrics, { call: 'refresh', outcome: 'success' })).toBe(1);
    expect(await counter(metrics, { call: 'update', outcome: 'success' })).toBe(1);
  });

  it('accepts the Kotlin refresh shape {accessToken}', async () => {
    const tok = await accessToken();
    refreshOnce(tok, 'kotlin');
    nock(CORE, bearer(tok)).post('/api/jobs/control/update').reply(200, {});
    await makeClient().client.update([running('1')]);
    expect(nock.isDone()).toBe(true);
  });

  it('reuses the cached token while more than 3 minutes remain', async () => {
    const tok = await accessToken();
    refreshOnce(tok); // a second refresh would find no interceptor and fail the call
    nock(CORE, bearer(tok)).post('/api/jobs/control/update').times(3).reply(200, {});
    const { client, clock } = makeClient();
    await client.update([running('1')]);
    clock.now = T0 + 6 * 60_000; // 4 minutes left
    await client.update([running('1')]);
    await client.update([running('2')]);
    expect(nock.isDone()).toBe(true);
  });

  it('renews when fewer than 3 minutes remain', async () => {
    const first = await accessToken(T0, 600, 'first');
    const second = await accessToken(T0 + 8 * 60_000, 600, 'second');
    refreshOnce(first);
    nock(CORE, bearer(first)).post('/api/jobs/control/update').reply(200, {});
    const { client, clock } = makeClient();
    await client.update([running('1')]);

    refreshOnce(second);
    nock(CORE, bearer(second)).post('/api/jobs/control/update').reply(200, {});
    clock.now = T0 + 7 * 60_000 + 30_000; // 2.5 minutes left
    await client.update([running('1')]);
    expect(nock.isDone()).toBe(true);
  });

  it('shares one refresh between concurrent calls', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE, bearer(tok)).post('/api/jobs/control/update').times(5).reply(200, {});
    const { client } = makeClient();
    await Promise.all([1, 2, 3, 4, 5].map((i) => client.update([running(String(i))])));
    expect(nock.isDone()).toBe(true);
  });

  it('on a 401 renews the token once and repeats the call', async () => {
    const stale = await accessToken(T0, 600, 'stale');
    const fresh = await accessToken(T0, 600, 'fresh');
    refreshOnce(stale);
    nock(CORE, bearer(stale)).post('/api/jobs/control/update').reply(401, { why: 'Unauthorized', errorCode: null });
    refreshOnce(fresh);
    nock(CORE, bearer(fresh)).post('/api/jobs/control/update').reply(200, {});
    const { client, sleeps, metrics } = makeClient();
    await client.update([running('1')]);
    expect(nock.isDone()).toBe(true);
    expect(sleeps).toEqual([]); // a renewal is not a backoff
    expect(await counter(metrics, { call: 'update', outcome: 'unauthorized' })).toBe(1);
  });

  it('a second 401 with a fresh token is an auth error: not retried, but the items stay retryable', async () => {
    const a = await accessToken(T0, 600, 'a');
    const b = await accessToken(T0, 600, 'b');
    refreshOnce(a);
    refreshOnce(b);
    nock(CORE).post('/api/jobs/control/update').times(2).reply(401, { why: 'Unauthorized' });
    const { client } = makeClient();
    const err = await client.update([running('1')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlApiError);
    expect(err).toMatchObject({ status: 401, kind: 'auth', retryable: true, call: 'update' });
    expect(nock.isDone()).toBe(true);
  });

  it('a refused refresh token fails fast as an auth error', async () => {
    nock(CORE).post('/auth/providers/refresh').reply(401, { why: 'Invalid refresh token', errorCode: 'UNAUTHENTICATED' });
    const { client, sleeps, metrics } = makeClient();
    const err = (await client.update([running('1')]).catch((e: unknown) => e)) as ControlApiError;
    expect(err).toMatchObject({ status: 401, kind: 'auth', call: 'refresh', errorCode: 'UNAUTHENTICATED' });
    expect(sleeps).toEqual([]);
    expect(await counter(metrics, { call: 'refresh', outcome: 'auth' })).toBe(1);
    expect(nock.isDone()).toBe(true);
  });

  it('retries a refresh that fails with 503', async () => {
    const tok = await accessToken();
    nock(CORE).post('/auth/providers/refresh').reply(503, { why: 'auth down' });
    refreshOnce(tok);
    nock(CORE, bearer(tok)).post('/api/jobs/control/update').reply(200, {});
    const { client, sleeps } = makeClient();
    await client.update([running('1')]);
    expect(sleeps).toHaveLength(1);
    expect(nock.isDone()).toBe(true);
  });
});

describe('JobsControlClient: batching', () => {
  it('splits 2500 updates into calls of 1000, 1000 and 500, in order', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    const seen: string[][] = [];
    nock(CORE)
      .post('/api/jobs/control/update', (body: { items: JobUpdateItem[] }) => {
        seen.push(body.items.map((i) => i.id));
        return true;
      })
      .times(3)
      .reply(200, {});
    const items = Array.from({ length: 2500 }, (_, i) => running(String(i)));
    await makeClient().client.update(items);
    expect(seen.map((s) => s.length)).toEqual([1000, 1000, 500]);
    expect(seen.flat()).toEqual(items.map((i) => i.id));
  });

  it('honours a smaller maxItemsPerCall and refuses one above UCloud’s limit', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    const sizes: number[] = [];
    nock(CORE)
      .post('/api/jobs/control/update', (b: { items: unknown[] }) => sizes.push(b.items.length) > 0)
      .times(3)
      .reply(200, {});
    await makeClient({ maxItemsPerCall: 2 }).client.update([running('1'), running('2'), running('3'), running('4'), running('5')]);
    expect(sizes).toEqual([2, 2, 1]);
    expect(() => makeClient({ maxItemsPerCall: 1001 })).toThrow(RangeError);
  });

  it('sends nothing for an empty list (UCloud rejects an empty bulk)', async () => {
    const { client } = makeClient();
    await client.update([]);
    await expect(client.chargeCredits([])).resolves.toEqual({ insufficientFunds: [], duplicateCharges: [] });
  });

  it('chargeCredits merges insufficientFunds and duplicateCharges across chunks', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    const answers = [
      { insufficientFunds: [{ id: 'a' }], duplicateCharges: [] },
      { insufficientFunds: null, duplicateCharges: null }, // Go encodes empty slices as null
      { insufficientFunds: [{ id: 'e' }, { id: 'a' }], duplicateCharges: [{ id: 'e' }] },
    ];
    const bodies: ChargeItem[][] = [];
    let n = 0;
    nock(CORE, bearer(tok))
      .post('/api/jobs/control/chargeCredits', (b: { items: ChargeItem[] }) => bodies.push(b.items) > 0)
      .times(3)
      .reply(200, () => answers[n++]);
    const items = ['a', 'b', 'c', 'd', 'e'].map((id) => charge(id, 3));
    const res = await makeClient({ maxItemsPerCall: 2 }).client.chargeCredits(items);
    expect(res).toEqual({ insufficientFunds: [{ id: 'a' }, { id: 'e' }], duplicateCharges: [{ id: 'e' }] });
    expect(bodies.flat()).toEqual(items);
  });

  it('checkCredits uses its own endpoint', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE)
      .post('/api/jobs/control/checkCredits')
      .reply(200, { insufficientFunds: [{ id: 'x' }], duplicateCharges: [] });
    await expect(makeClient().client.checkCredits([charge('x')])).resolves.toEqual({
      insufficientFunds: [{ id: 'x' }],
      duplicateCharges: [],
    });
  });
});

describe('JobsControlClient: retries', () => {
  it('retries a 503 with full-jitter backoff and then succeeds', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE).post('/api/jobs/control/update').times(2).reply(503, { why: 'busy' });
    nock(CORE).post('/api/jobs/control/update').reply(200, {});
    const { client, sleeps, metrics } = makeClient({ random: () => 0.999 });
    await client.update([running('1')]);
    // cap = min(max, base·2^(n-1)): 100 then 200; jitter 0.999 sits just under the cap.
    expect(sleeps).toEqual([99, 199]);
    expect(nock.isDone()).toBe(true);
    expect(await counter(metrics, { call: 'update', outcome: 'server_error' })).toBe(2);
    expect(await counter(metrics, { call: 'update', outcome: 'success' })).toBe(1);
    const { values } = await metrics.controlCallDuration.get();
    expect(values.find((v) => v.metricName?.endsWith('_count') && v.labels.call === 'update')?.value).toBe(3);
  });

  it('never waits longer than maxDelayMs, and honours Retry-After up to it', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE).post('/api/jobs/control/update').reply(429, { why: 'slow down' }, { 'retry-after': '3' });
    nock(CORE).post('/api/jobs/control/update').reply(429, { why: 'slow down' }, { 'retry-after': '0' });
    nock(CORE).post('/api/jobs/control/update').reply(200, {});
    const { client, sleeps } = makeClient({ random: () => 0, retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 } });
    await client.update([running('1')]);
    expect(sleeps).toEqual([1000, 0]);
  });

  it('gives up after the configured number of attempts', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    let hits = 0;
    nock(CORE)
      .post('/api/jobs/control/update')
      .times(10)
      .reply(() => {
        hits++;
        return [502, { why: 'bad gateway', errorCode: 'UPSTREAM' }];
      });
    const { client, sleeps } = makeClient({ retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 } });
    const err = await client.update([running('1')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlApiError);
    expect(err).toMatchObject({ status: 502, why: 'bad gateway', errorCode: 'UPSTREAM', kind: 'transient', retryable: true });
    expect(hits).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(isRetryable(err)).toBe(true);
  });

  it('does not retry a 400 and carries why and errorCode', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    let hits = 0;
    nock(CORE)
      .post('/api/jobs/control/update')
      .times(5)
      .reply(() => {
        hits++;
        return [400, { why: 'Job 42 is not known', errorCode: 'BAD_JOB' }];
      });
    const { client, sleeps, metrics } = makeClient();
    const err = (await client.update([running('42')]).catch((e: unknown) => e)) as ControlApiError;
    expect(err).toBeInstanceOf(ControlApiError);
    expect(err).toMatchObject({ status: 400, why: 'Job 42 is not known', errorCode: 'BAD_JOB', retryable: false, kind: 'rejected' });
    expect(err.message).toContain('Job 42 is not known');
    expect(isRetryable(err)).toBe(false);
    expect(hits).toBe(1);
    expect(sleeps).toEqual([]);
    expect(await counter(metrics, { call: 'update', outcome: 'rejected' })).toBe(1);
  });

  it('treats a 4xx without a CommonErrorMessage body as status-only', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE).post('/api/jobs/control/update').reply(404, 'not here');
    const err = (await makeClient()
      .client.update([running('1')])
      .catch((e: unknown) => e)) as ControlApiError;
    expect(err).toMatchObject({ status: 404, errorCode: undefined, retryable: false });
    expect(err.why.length).toBeGreaterThan(0);
  });

  it('retries a request that times out', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    // Timeouts far apart (0.5 s against a 10 s reply): on a loaded machine a 50 ms timeout also
    // caught the token refresh, and the test failed for the wrong reason.
    nock(CORE).post('/api/jobs/control/update').delay(10_000).reply(200, {});
    nock(CORE).post('/api/jobs/control/update').reply(200, {});
    const { client, sleeps, metrics } = makeClient({ requestTimeoutMs: 500 });
    await client.update([running('1')]);
    expect(sleeps).toHaveLength(1);
    expect(await counter(metrics, { call: 'update', outcome: 'timeout' })).toBe(1);
  });

  it('a call that always times out ends as a transient error with status 0', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE).post('/api/jobs/control/update').times(2).delay(10_000).reply(200, {});
    const { client } = makeClient({ requestTimeoutMs: 500, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = await client.update([running('1')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, kind: 'transient', timedOut: true, retryable: true });
  });

  it('retries network errors', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE).post('/api/jobs/control/update').replyWithError('socket hang up');
    nock(CORE).post('/api/jobs/control/update').reply(200, {});
    const { client, sleeps, metrics } = makeClient();
    await client.update([running('1')]);
    expect(sleeps).toHaveLength(1);
    expect(await counter(metrics, { call: 'update', outcome: 'network_error' })).toBe(1);
  });

  it('reports the cause of a fetch failure (as undici throws it)', async () => {
    const tok = await accessToken();
    let calls = 0;
    const fakeFetch: typeof fetch = async (input) => {
      calls++;
      if (String(input).endsWith('/auth/providers/refresh')) return Response.json({ responses: [{ accessToken: tok, csrfToken: '' }] });
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    };
    const { client, sleeps } = makeClient({ fetch: fakeFetch, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = await client.update([running('1')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, kind: 'transient', why: 'fetch failed (ECONNREFUSED)' });
    expect(calls).toBe(3);
    expect(sleeps).toHaveLength(1);
  });

  it('a 2xx body it cannot read is an invalid_response, not retried', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE).post('/api/jobs/control/chargeCredits').reply(200, { insufficientFunds: 'nope' });
    const { client, sleeps } = makeClient();
    const err = await client.chargeCredits([charge('1')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false, call: 'chargeCredits' });
    expect(sleeps).toEqual([]);
  });
});

describe('JobsControlClient: browseSshKeys', () => {
  const key = (i: number): SSHKey => ({
    id: `k${i}`,
    owner: 'user#1234',
    createdAt: T0 + i,
    fingerprint: `SHA256:${i}`,
    specification: { title: `key ${i}`, key: `ssh-ed25519 AAAA${i}` },
  });

  it('follows next until it is null, asking for 250 per page', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    const all = Array.from({ length: 600 }, (_, i) => key(i));
    const requests: unknown[] = [];
    nock(CORE, bearer(tok))
      .post('/api/jobs/control/browseSshKeys', (b: unknown) => requests.push(b) > 0)
      .times(3)
      .reply(200, (_uri, body) => {
        const b = body as { next: string | null; itemsPerPage: number };
        const from = b.next ? Number(b.next) : 0;
        const next = from + b.itemsPerPage < all.length ? String(from + b.itemsPerPage) : null;
        return { items: all.slice(from, from + b.itemsPerPage), itemsPerPage: b.itemsPerPage, next };
      });
    const keys = await makeClient().client.browseSshKeys('job-7');
    expect(keys).toEqual(all);
    expect(requests).toEqual([
      { jobId: 'job-7', itemsPerPage: 250, next: null },
      { jobId: 'job-7', itemsPerPage: 250, next: '250' },
      { jobId: 'job-7', itemsPerPage: 250, next: '500' },
    ]);
  });

  it('stops on a cursor that does not advance', async () => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE)
      .post('/api/jobs/control/browseSshKeys')
      .times(2)
      .reply(200, { items: [key(1)], itemsPerPage: 250, next: 'same' });
    const err = await makeClient()
      .client.browseSshKeys('j')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'invalid_response' });
  });
});

describe('JobsControlClient: logging', () => {
  it('never writes the refresh token or an access token to the log', async () => {
    let t1 = '';
    let t2 = '';
    let lines: string[];
    setLogLevel('debug');
    try {
      lines = await captureLogs(async () => {
        t1 = await accessToken(T0, 600, 'one');
        t2 = await accessToken(T0, 600, 'two');
        // Core echoing a token back in an error must not leak it either.
        nock(CORE).post('/auth/providers/refresh').reply(503, { why: 'down', errorCode: 'X' });
        refreshOnce(t1);
        nock(CORE).post('/api/jobs/control/update').reply(401, { why: 'bad token' });
        refreshOnce(t2);
        nock(CORE).post('/api/jobs/control/update').reply(500, { why: 'oops' });
        nock(CORE).post('/api/jobs/control/update').replyWithError('connection reset');
        nock(CORE).post('/api/jobs/control/update').reply(200, {});
        nock(CORE)
          .post('/api/jobs/control/chargeCredits')
          .reply(400, { why: `rejected token ${t2} for ${REFRESH_TOKEN}`, errorCode: 'BAD' });
        const { client } = makeClient({ retry: { attempts: 6, baseDelayMs: 1, maxDelayMs: 1 } });
        await client.update([running('1')]);
        const err = await client.chargeCredits([charge('1')]).catch((e: unknown) => e);
        expect((err as ControlApiError).why).toBe('rejected token [redacted] for [redacted]');
        rootLogger.error('caller logs the error', { err, why: (err as ControlApiError).why });
        expect(nock.isDone()).toBe(true);
      });
    } finally {
      setLogLevel('info');
    }
    expect(lines.length).toBeGreaterThan(5);
    const all = lines.join('\n');
    expect(all).toContain('retrying');
    for (const secret of [REFRESH_TOKEN, t1, t2, t1.split('.')[2]!, t2.split('.')[2]!]) expect(all).not.toContain(secret);
  });
});

/**
 * JobsControl as core2 answers it (core2/pkg/orchestrator/job.go): update validates every id of
 * the batch first (ResourceValidateProviderBatch) and answers 404 "Not found or permission denied
 * (<id>)" applying nothing; chargeCredits charges item by item and answers 400 "Could not fetch
 * jobs: ..." at the first unknown id, keeping the charges before it (absolute per chargeId);
 * retrieve answers 403 for an id it has no resource for.
 */
function core2(known: Set<string>, opts: { namesId?: boolean } = {}) {
  const applied: JobUpdateItem[] = [];
  const ledger = new Map<string, number>();
  const calls: Array<{ call: string; ids: string[]; status: number }> = [];
  nock(CORE)
    .persist()
    .post('/api/jobs/control/update')
    .reply((_uri, body) => {
      const items = (body as { items: JobUpdateItem[] }).items;
      const bad = items.find((it) => !known.has(it.id));
      calls.push({ call: 'update', ids: items.map((i) => i.id), status: bad ? 404 : 200 });
      if (bad)
        return [
          404,
          { statusCode: 404, why: opts.namesId === false ? 'Not found' : `Not found or permission denied (${bad.id})`, errorCode: '', detailedCode: 0 },
        ];
      applied.push(...items);
      return [200, {}];
    })
    .post('/api/jobs/control/chargeCredits')
    .reply((_uri, body) => {
      const items = (body as { items: ChargeItem[] }).items;
      for (const it of items) {
        if (!known.has(it.id)) {
          calls.push({ call: 'chargeCredits', ids: items.map((i) => i.id), status: 400 });
          return [400, { statusCode: 400, why: 'Could not fetch jobs: 403 Write permission is required', errorCode: '', detailedCode: 0 }];
        }
        ledger.set(it.chargeId, it.periods);
      }
      calls.push({ call: 'chargeCredits', ids: items.map((i) => i.id), status: 200 });
      return [200, { insufficientFunds: items.some((i) => i.id === 'broke') ? [{ id: 'broke' }] : [], duplicateCharges: [] }];
    })
    .get('/api/jobs/control/retrieve')
    .query(true)
    .reply((uri) => {
      const id = new URL(uri, CORE).searchParams.get('id') ?? '';
      calls.push({ call: 'retrieve', ids: [id], status: known.has(id) ? 200 : 403 });
      return known.has(id) ? [200, { id }] : [403, { statusCode: 403, why: 'Write permission is required', errorCode: '', detailedCode: 0 }];
    });
  return { applied, ledger, calls };
}

describe('JobsControlClient: rejected batches', () => {
  it('deliverUpdates takes out the job core2 names in its 404 and delivers everyone else, in order', async () => {
    refreshOnce(await accessToken());
    const ids = ['1', '2', 'x', '3', '4'];
    const core = core2(new Set(['1', '2', '3', '4']));
    const items = ids.flatMap((id) => [running(id), { id, update: { state: 'SUCCESS' as const, status: 'done' } }]);
    const { client, metrics } = makeClient();
    const out = await client.deliverUpdates(items);
    expect(out.rejected).toEqual([expect.objectContaining({ id: 'x', verdict: 'unknown_job', error: expect.objectContaining({ status: 404 }) })]);
    expect(core.applied).toEqual(items.filter((i) => i.id !== 'x'));
    // The whole batch, the batch without x, x alone, then Core is asked about x.
    expect(core.calls.map((c) => [c.call, c.status])).toEqual([
      ['update', 404],
      ['update', 200],
      ['update', 404],
      ['retrieve', 403],
    ]);
    const { values } = await metrics.rejectedJobs.get();
    expect(values).toEqual([expect.objectContaining({ labels: { call: 'update', verdict: 'unknown_job' }, value: 1 })]);
  });

  it('bisects by job when the rejection names no id, keeping each job’s updates in order', async () => {
    refreshOnce(await accessToken());
    const known = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    const core = core2(known, { namesId: false });
    // Interleaved: a job's two updates are apart in the batch; they must still arrive in order.
    const items = [...'abcdxefg'].map((id) => running(id)).concat([...'abcdxefg'].map((id) => ({ id, update: { state: 'SUCCESS' as const } })));
    const out = await makeClient().client.deliverUpdates(items);
    expect(out.rejected.map((r) => [r.id, r.verdict])).toEqual([['x', 'unknown_job']]);
    for (const id of known) {
      expect(core.applied.filter((i) => i.id === id).map((i) => i.update.state)).toEqual(['RUNNING', 'SUCCESS']);
    }
    expect(core.applied).toHaveLength(14);
    // log2(8 jobs) levels: far fewer calls than one per job.
    expect(core.calls.filter((c) => c.call === 'update').length).toBeLessThanOrEqual(7);
  });

  it('deliverCharges isolates unknown jobs; items charged before a rejection are not charged twice', async () => {
    refreshOnce(await accessToken());
    const known = new Set(Array.from({ length: 20 }, (_, i) => `j${i}`).concat('broke'));
    const core = core2(known);
    const ids = [...known].slice(0, 10).concat('gone1', ...[...known].slice(10), 'gone2');
    const items = ids.map((id) => charge(id, 5));
    const out = await makeClient().client.deliverCharges(items);
    expect(out.rejected.map((r) => [r.id, r.verdict]).sort()).toEqual([
      ['gone1', 'unknown_job'],
      ['gone2', 'unknown_job'],
    ]);
    expect(out.rejected[0]!.error).toMatchObject({ status: 400, why: 'Could not fetch jobs: 403 Write permission is required' });
    expect(out.insufficientFunds).toEqual([{ id: 'broke' }]);
    // Absolute per chargeId: every known job once, 5 periods, whatever was resent.
    expect([...core.ledger.keys()].sort()).toEqual([...known].map((id) => `${id}-w1`).sort());
    expect([...core.ledger.values()].every((p) => p === 5)).toBe(true);
    // Items before gone1 went out more than once (the whole batch, then its halves): identical.
    const sent = core.calls.filter((c) => c.call === 'chargeCredits').flatMap((c) => c.ids);
    expect(sent.filter((id) => id === 'j0').length).toBeGreaterThan(1);
  });

  it('a job Core knows but still refuses is "refused"; one Core cannot be asked about is "undetermined"', async () => {
    refreshOnce(await accessToken());
    nock(CORE).post('/api/jobs/control/update').reply(400, { why: 'Invalid request supplied' });
    nock(CORE).get('/api/jobs/control/retrieve').query({ id: 'k' }).reply(200, { id: 'k' });
    const { client } = makeClient();
    expect((await client.deliverUpdates([running('k')])).rejected).toEqual([expect.objectContaining({ id: 'k', verdict: 'refused' })]);

    nock(CORE).post('/api/jobs/control/chargeCredits').reply(400, { why: 'Could not fetch jobs: 500' });
    nock(CORE).get('/api/jobs/control/retrieve').query({ id: 'u' }).times(4).reply(503, { why: 'down' });
    expect((await client.deliverCharges([charge('u')])).rejected).toEqual([expect.objectContaining({ id: 'u', verdict: 'undetermined' })]);
    expect(nock.isDone()).toBe(true);
  });

  it('a transient failure while splitting throws, so the caller keeps every item', async () => {
    refreshOnce(await accessToken());
    nock(CORE).post('/api/jobs/control/update').reply(404, { why: 'Not found' });
    nock(CORE).post('/api/jobs/control/update').times(4).reply(503, { why: 'down' });
    const err = await makeClient()
      .client.deliverUpdates([running('1'), running('2')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'transient', retryable: true, status: 503 });
  });

  it('knowsJob asks JobsControl.retrieve: 403 and 404 mean no such job, anything else throws', async () => {
    refreshOnce(await accessToken());
    nock(CORE).get('/api/jobs/control/retrieve').query({ id: '7' }).reply(200, { id: '7' });
    nock(CORE).get('/api/jobs/control/retrieve').query({ id: '8' }).reply(404, { why: 'Not found' });
    nock(CORE).get('/api/jobs/control/retrieve').query({ id: '9' }).reply(400, { why: 'bad' });
    const { client } = makeClient();
    await expect(client.knowsJob('7')).resolves.toBe(true);
    await expect(client.knowsJob('8')).resolves.toBe(false);
    await expect(client.knowsJob('9')).rejects.toMatchObject({ status: 400 });
  });
});

describe('JobsControlClient: resources Core knows and the Job does not carry', () => {
  // core2's FileCollectionsControl.retrieve and LicensesControl.retrieve (GET .../control/retrieve?id=),
  // as IM2 looks up a drive to name its mount (shared/mount_paths.go) and a license's product for
  // its server string (controller/license_database.go). A resource Core refuses (403/404) is none.
  it.each([
    [
      'driveTitle',
      '/api/files/collections/control/retrieve',
      { specification: { title: 'Home', product: { id: 'p', category: 'c', provider: 'example' } } },
      'Home',
      404,
    ],
    [
      'licenseProduct',
      '/api/licenses/control/retrieve',
      { specification: { product: { id: 'matlab', category: 'm', provider: 'example' }, labels: {} } },
      'matlab',
      403,
    ],
  ] as const)('%s reads the field from %s, and nothing for a refused id', async (method, path, found, expected, refusedWith) => {
    const tok = await accessToken();
    refreshOnce(tok);
    nock(CORE, bearer(tok))
      .get(path)
      .query({ id: '4711' })
      .reply(200, { id: '4711', ...found });
    nock(CORE, bearer(tok)).get(path).query({ id: '99' }).reply(refusedWith, { why: 'Not found', errorCode: 'NOT_FOUND' });
    const { client } = makeClient();
    expect(await client[method]('4711')).toBe(expected);
    expect(await client[method]('99')).toBeUndefined();
    expect(nock.isDone()).toBe(true);
  });
});

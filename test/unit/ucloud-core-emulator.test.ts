import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { rootLogger } from '../../src/observability/log.js';
import { JobsControlClient } from '../../src/ucloud/control-client.js';
import type { ChargeItem, JobUpdateItem, SSHKey } from '../../src/ucloud/control-api.js';
import { CORE2_POLLED_PATHS, UCloudCoreEmulator, core2JobShape } from '../support/ucloud-core-emulator.js';

let core: UCloudCoreEmulator;

beforeAll(async () => {
  core = await UCloudCoreEmulator.start({ providerId: 'example' });
});
afterAll(async () => {
  await core.close();
});
beforeEach(() => core.reset());

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${core.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function providerToken(): Promise<string> {
  const res = await post('/auth/providers/refresh', { items: [{ refreshToken: core.refreshToken }] });
  expect(res.status).toBe(200);
  return res.body.responses[0].accessToken as string;
}

const update = (id: string, state: 'RUNNING' | 'SUCCESS' | 'IN_QUEUE' = 'RUNNING', status = 'x'): JobUpdateItem => ({
  id,
  update: { state, status },
});
const charge = (id: string, chargeId: string, periods: number): ChargeItem => ({ id, chargeId, units: 1, periods });

function client(over: Partial<ConstructorParameters<typeof JobsControlClient>[0]> = {}): JobsControlClient {
  return new JobsControlClient({
    coreUrl: core.url,
    refreshToken: core.refreshToken,
    logger: rootLogger.child({ test: 'emulator' }),
    retry: { attempts: 30, baseDelayMs: 1, maxDelayMs: 5 },
    requestTimeoutMs: 2000,
    ...over,
  });
}

describe('UCloudCoreEmulator: auth', () => {
  it('listens on loopback and hands out the key as base64 DER and PEM', async () => {
    expect(core.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const der = Buffer.from(core.publicKeyBase64Der(), 'base64');
    const fromDer = createPublicKey({ key: der, format: 'der', type: 'spki' });
    expect(String(fromDer.export({ format: 'pem', type: 'spki' })).trim()).toBe(core.publicKeyPem().trim());
    expect(core.publicKeyBase64Der()).not.toMatch(/BEGIN|\s/);
  });

  it('answers refresh in the Go shape with a provider token, and 401 for a wrong refresh token', async () => {
    const bad = await post('/auth/providers/refresh', { items: [{ refreshToken: 'nope' }] });
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({ why: expect.any(String), errorCode: 'UNAUTHENTICATED' });

    const ok = await post('/auth/providers/refresh', { items: [{ refreshToken: core.refreshToken }] });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ responses: [{ accessToken: expect.any(String), csrfToken: '' }] });
    const { payload } = await jwtVerify(ok.body.responses[0].accessToken, await importSPKI(core.publicKeyPem(), 'RS256'));
    expect(payload).toMatchObject({ sub: '#P_example', role: 'PROVIDER', principalType: 'provider', iss: 'cloud.sdu.dk' });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(core.calls.map((c) => [c.path, c.status])).toEqual([
      ['/auth/providers/refresh', 401],
      ['/auth/providers/refresh', 200],
    ]);
  });

  it('verifies the provider token on control calls', async () => {
    core.registerJobs(['1']);
    const items = { items: [update('1')] };
    expect((await post('/api/jobs/control/update', items)).status).toBe(401);
    expect((await post('/api/jobs/control/update', items, 'not-a-jwt')).status).toBe(401);
    // A Core→provider token is signed with the same key but is not a provider identity.
    expect((await post('/api/jobs/control/update', items, await core.signCoreToken())).status).toBe(401);
    expect((await post('/api/jobs/control/update', items, await core.signCoreToken({ sub: '#P_example', role: 'PROVIDER' }))).status).toBe(200);
    const other = await UCloudCoreEmulator.start({ providerId: 'example' });
    try {
      const foreign = (await fetch(`${other.url}/auth/providers/refresh`, {
        method: 'POST',
        body: JSON.stringify({ items: [{ refreshToken: other.refreshToken }] }),
      }).then((r) => r.json())) as { responses: Array<{ accessToken: string }> };
      expect((await post('/api/jobs/control/update', items, foreign.responses[0]!.accessToken)).status).toBe(401);
    } finally {
      await other.close();
    }
    expect((await post('/api/jobs/control/update', items, await providerToken())).status).toBe(200);
    expect(core.updates).toHaveLength(2);
  });

  it('signs Core tokens with the claims UCloud uses, and can forge bad ones', async () => {
    const key = await importSPKI(core.publicKeyPem(), 'RS256');
    const { payload, protectedHeader } = await jwtVerify(await core.signCoreToken(), key, { algorithms: ['RS256'] });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ iss: 'cloud.sdu.dk', sub: '_UCloud', role: 'SERVICE', principalType: 'service', aud: ['all:write'] });
    expect(payload.exp! - payload.iat!).toBe(600);

    const custom = await jwtVerify(await core.signCoreToken({ sub: 'user', role: 'USER', iss: 'evil', expiresInSec: 5 }), key);
    expect(custom.payload).toMatchObject({ sub: 'user', role: 'USER', iss: 'evil' });
    expect(custom.payload.exp! - custom.payload.iat!).toBe(5);

    const none = await core.signCoreToken({ alg: 'none' });
    expect(decodeProtectedHeader(none).alg).toBe('none');
    expect(none.endsWith('.')).toBe(true);
    const hs = await core.signCoreToken({ alg: 'HS256' });
    expect(decodeProtectedHeader(hs).alg).toBe('HS256');
    await expect(jwtVerify(hs, key, { algorithms: ['RS256'] })).rejects.toThrow();
    const rs512 = await core.signCoreToken({ alg: 'RS512' });
    await expect(jwtVerify(rs512, await importSPKI(core.publicKeyPem(), 'RS512'))).resolves.toBeDefined();
    await expect(jwtVerify(rs512, key, { algorithms: ['RS256'] })).rejects.toThrow();
  });

  it('callProvider sends a fresh Core token, or none when asked', async () => {
    const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
    const provider = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(req.headers.authorization ? 200 : 401, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
    try {
      const ok = await core.callProvider<{ ok: boolean }>(base, 'POST', '/ucloud/example/jobs', { items: [] });
      expect(ok).toEqual({ status: 200, body: { ok: true } });
      const token = /^Bearer (.+)$/.exec(seen[0]!.headers.authorization!)![1]!;
      const { payload } = await jwtVerify(token, await importSPKI(core.publicKeyPem(), 'RS256'));
      expect(payload.sub).toBe('_UCloud');
      expect(JSON.parse(seen[0]!.body)).toEqual({ items: [] });
      const anon = await core.callProvider(base, 'GET', '/ucloud/example/jobs/retrieveProducts', undefined, { token: null });
      expect(anon.status).toBe(401);
      expect(seen[1]!.headers.authorization).toBeUndefined();
      expect(seen[1]!.method).toBe('GET');
    } finally {
      await new Promise<void>((r) => provider.close(() => r()));
    }
  });
});

describe('UCloudCoreEmulator: control calls', () => {
  it('answers unknown paths with 404 and a CommonErrorMessage', async () => {
    const res = await post('/api/jobs/control/nope', { items: [] }, await providerToken());
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ why: expect.any(String), errorCode: 'NOT_FOUND' });
    expect((await post('/api/whatever', {})).status).toBe(404);
  });

  it('decodes bodies as core2 does: no item limit, `timestamp: null` and non-integers refused whole', async () => {
    const token = await providerToken();
    // fnd.BulkRequest has no limit either way (rpc.ParseRequestFromBody into Go types).
    expect((await post('/api/jobs/control/update', { items: [] }, token)).status).toBe(200);
    expect((await post('/api/jobs/control/update', {}, token)).status).toBe(200);
    const many = Array.from({ length: 1500 }, (_, i) => update(String(i)));
    core.registerJobs(many.map((m) => m.id));
    expect((await post('/api/jobs/control/update', { items: many }, token)).status).toBe(200);
    expect(core.updates).toHaveLength(1500);
    // fnd.Timestamp's UnmarshalJSON is strconv.ParseInt: null fails, and with it the whole batch.
    const nullTs = await post('/api/jobs/control/update', { items: [update('1'), { id: '2', update: { state: 'RUNNING', timestamp: null } }] }, token);
    expect(nullTs).toEqual({ status: 400, body: { statusCode: 400, why: 'Invalid request supplied', errorCode: '', detailedCode: 0 } });
    expect((await post('/api/jobs/control/update', { items: [{ id: '1', update: { timestamp: 0 } }] }, token)).status).toBe(200);
    expect((await post('/api/jobs/control/chargeCredits', { items: [{ id: '1', chargeId: 'c', units: 1, periods: 1.5 }] }, token)).status).toBe(400);
    expect(core.updates).toHaveLength(1501);
    expect(core.charges).toHaveLength(0);
  });

  it('refuses a whole update batch with 404 naming an unknown id, applying none of it', async () => {
    const token = await providerToken();
    core.registerJobs(['1', '2']);
    const res = await post('/api/jobs/control/update', { items: [update('1'), update('x'), update('2')] }, token);
    // ResourceValidateProviderBatch runs before any update is applied.
    expect(res).toEqual({ status: 404, body: { statusCode: 404, why: 'Not found or permission denied (x)', errorCode: '', detailedCode: 0 } });
    expect(core.updates).toHaveLength(0);
    core.forgetJob('2');
    expect((await post('/api/jobs/control/update', { items: [update('2')] }, token)).status).toBe(404);
    expect(core.deletedJobs).toEqual([expect.objectContaining({ id: '2' })]);
  });

  it('refuses a chargeCredits batch with 400 at the first unknown id, keeping the charges before it', async () => {
    const token = await providerToken();
    core.registerJobs(['a', 'b', 'c']);
    const res = await post(
      '/api/jobs/control/chargeCredits',
      { items: [charge('a', 'a-1', 2), charge('b', 'b-1', 3), charge('x', 'x-1', 1), charge('c', 'c-1', 4)] },
      token,
    );
    expect(res).toEqual({
      status: 400,
      body: { statusCode: 400, why: 'Could not fetch jobs: 403 Write permission is required', errorCode: '', detailedCode: 0 },
    });
    expect(core.charges.map((c) => c.item.chargeId)).toEqual(['a-1', 'b-1']);
    expect((await post('/api/jobs/control/checkCredits', { items: [charge('x', 'p', 1)] }, token)).status).toBe(400);
  });

  it('applies expectedState, expectedDifferentState and the final-state rule as core2 does, whole updates at a time', async () => {
    const token = await providerToken();
    core.registerJobs(['1']);
    const send = (u: Record<string, unknown>) => post('/api/jobs/control/update', { items: [{ id: '1', update: u }] }, token);
    await send({ state: 'RUNNING', expectedState: 'IN_QUEUE', status: 'starts' });
    await send({ state: 'RUNNING', expectedState: 'IN_QUEUE', status: 'replayed' }); // not in IN_QUEUE any more
    await send({ status: 'text only, wrong expectation', expectedState: 'IN_QUEUE' }); // dropped whole, text too
    await send({ state: 'RUNNING', expectedDifferentState: true, status: 'same state' });
    await send({ state: 'SUCCESS', status: 'done' });
    await send({ state: 'RUNNING', status: 'back from final' }); // never from final to non-final
    await send({ state: 'FAILURE', status: 'final to final' }); // allowed in core2
    expect(core.updates.map((u) => u.update.status)).toEqual(['starts', 'done', 'final to final']);
    expect(core.skippedUpdates.map((u) => u.update.status)).toEqual(['replayed', 'text only, wrong expectation', 'same state', 'back from final']);
    expect(core.jobStates('1')).toEqual(['RUNNING', 'SUCCESS', 'FAILURE']);
  });

  it('JobsControl.retrieve answers a known job and 403 for one Core does not have', async () => {
    const token = await providerToken();
    core.registerJobs(['1']);
    const get = (id: string) => fetch(`${core.url}/api/jobs/control/retrieve?id=${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get('1')).status).toBe(200);
    const gone = await get('2');
    expect(gone.status).toBe(403);
    expect(await gone.json()).toMatchObject({ why: 'Write permission is required' });
  });

  it('records updates as sent and collapses repeated states in jobStates', async () => {
    const token = await providerToken();
    core.registerJobs(['1', '2']);
    const items = [update('1', 'IN_QUEUE'), update('1', 'RUNNING', 'a'), update('2', 'RUNNING'), update('1', 'RUNNING', 'b')];
    expect(await post('/api/jobs/control/update', { items }, token)).toEqual({ status: 200, body: {} });
    await post('/api/jobs/control/update', { items: [{ id: '1', update: { status: 'no state' } }, update('1', 'SUCCESS')] }, token);
    expect(core.updates.map((u) => ({ id: u.id, update: u.update }))).toEqual([...items, { id: '1', update: { status: 'no state' } }, update('1', 'SUCCESS')]);
    expect(core.jobStates('1')).toEqual(['IN_QUEUE', 'RUNNING', 'SUCCESS']);
    expect(core.jobStates('2')).toEqual(['RUNNING']);
    expect(core.calls.filter((c) => c.path === '/api/jobs/control/update').map((c) => c.items)).toEqual([4, 2]);
  });

  it('chargedPeriods: per chargeId the last periods win (isDeltaCharge=false); distinct chargeIds add up', async () => {
    const token = await providerToken();
    core.registerJobs(['j', 'k']);
    await post('/api/jobs/control/chargeCredits', { items: [charge('j', 'j-1', 5), charge('j', 'j-2', 3)] }, token);
    await post('/api/jobs/control/chargeCredits', { items: [charge('j', 'j-1', 7), charge('k', 'k-1', 4)] }, token);
    expect(core.chargedPeriods('j')).toBe(10); // j-1 overwritten 5 → 7, plus j-2
    expect(core.chargedPeriods('k')).toBe(4);
    expect(core.chargedPeriods('absent')).toBe(0);
    expect(core.conflictingCharges()).toEqual(['j-1']);
    // An identical resend is an overwrite with the same value: nothing changes.
    await post('/api/jobs/control/chargeCredits', { items: [charge('k', 'k-1', 4)] }, token);
    expect(core.chargedPeriods('k')).toBe(4);
  });

  it('answers insufficientFunds for the configured jobs; checkCredits charges nothing', async () => {
    const token = await providerToken();
    core.registerJobs(['poor', 'rich']);
    core.setInsufficientFunds(['poor']);
    const check = await post('/api/jobs/control/checkCredits', { items: [charge('poor', 'p', 1), charge('rich', 'r', 1)] }, token);
    expect(check.body).toEqual({ insufficientFunds: [{ id: 'poor' }], duplicateCharges: [] });
    expect(core.charges).toHaveLength(0);
    const res = await post('/api/jobs/control/chargeCredits', { items: [charge('poor', 'p1', 1), charge('poor', 'p2', 1)] }, token);
    expect(res.body).toEqual({ insufficientFunds: [{ id: 'poor' }], duplicateCharges: [] });
    expect(core.chargedPeriods('poor')).toBe(2); // Core still books the usage
  });

  it('pages SSH keys with itemsPerPage and a next cursor', async () => {
    const token = await providerToken();
    const keys: SSHKey[] = Array.from({ length: 7 }, (_, i) => ({
      id: `k${i}`,
      owner: 'u',
      createdAt: i,
      fingerprint: `f${i}`,
      specification: { title: `t${i}`, key: `ssh-ed25519 ${i}` },
    }));
    core.setSshKeys('j', keys);
    const pages: SSHKey[][] = [];
    let next: string | null = null;
    do {
      const res = await post('/api/jobs/control/browseSshKeys', { jobId: 'j', itemsPerPage: 3, next }, token);
      expect(res.body.itemsPerPage).toBe(3);
      pages.push(res.body.items);
      next = res.body.next;
    } while (next);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(keys);
    const none = await post('/api/jobs/control/browseSshKeys', { jobId: 'other' }, token);
    expect(none.body).toEqual({ items: [], itemsPerPage: 50, next: null });
  });

  it('waitFor resolves on the predicate and rejects naming what it waited for', async () => {
    let flag = false;
    setTimeout(() => (flag = true), 30);
    await core.waitFor(() => flag, 1000, 'the flag');
    await expect(core.waitFor(() => false, 60, 'job 7 to be RUNNING')).rejects.toThrow(/job 7 to be RUNNING/);
  });
});

describe('UCloudCoreEmulator: faults', () => {
  async function statuses(n: number, token: string): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await post('/api/jobs/control/update', { items: [update(String(i))] }, token)).status);
    return out;
  }

  it('injects failures from a seeded PRNG, so the same seed repeats the same pattern', async () => {
    const token = await providerToken();
    const jobs = Array.from({ length: 40 }, (_, i) => String(i));
    core.registerJobs(jobs);
    core.setFaults({ failRate: 0.4, statusOnFail: 502, seed: 42 });
    const first = await statuses(40, token);
    expect(new Set(first)).toEqual(new Set([200, 502]));
    const failed = first.filter((s) => s === 502).length;
    expect(core.faultsInjected).toBe(failed);
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(30);
    expect(core.updates).toHaveLength(40 - failed); // a failed call records nothing

    core.reset();
    core.registerJobs(jobs);
    core.setFaults({ failRate: 0.4, statusOnFail: 502, seed: 42 });
    expect(await statuses(40, token)).toEqual(first);
    core.setFaults({ seed: 7 });
    expect(await statuses(40, token)).not.toEqual(first);
  });

  it('does not inject faults into the refresh call', async () => {
    core.setFaults({ failRate: 1 });
    for (let i = 0; i < 5; i++) await providerToken();
    expect(core.faultsInjected).toBe(0);
  });

  it('simulates a timeout by holding the answer and then dropping the connection', async () => {
    const token = await providerToken();
    core.setFaults({ timeoutRate: 1, timeoutMs: 150 });
    const started = Date.now();
    await expect(post('/api/jobs/control/update', { items: [update('1')] }, token)).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(core.calls.at(-1)).toMatchObject({ path: '/api/jobs/control/update', status: 0, items: 1 });
    expect(core.faultsInjected).toBe(1);
    expect(core.updates).toHaveLength(0);
  });

  it('reset clears records, faults, funds, keys and jobs', async () => {
    const token = await providerToken();
    core.registerJobs(['1', 'a']);
    core.setFaults({ failRate: 1 });
    core.setInsufficientFunds(['a']);
    core.setSshKeys('a', [{ id: 'k', owner: 'o', createdAt: 0, fingerprint: 'f', specification: { title: 't', key: 'k' } }]);
    await post('/api/jobs/control/update', { items: [update('1')] }, token);
    core.reset();
    expect([core.updates.length, core.charges.length, core.calls.length, core.faultsInjected]).toEqual([0, 0, 0, 0]);
    expect(core.knowsJob('a')).toBe(false);
    core.registerJobs(['a']);
    expect((await post('/api/jobs/control/checkCredits', { items: [charge('a', 'x', 1)] }, token)).body.insufficientFunds).toEqual([]);
    expect((await post('/api/jobs/control/browseSshKeys', { jobId: 'a' }, token)).body.items).toEqual([]);
  });
});

describe('JobsControlClient against the emulator (end to end over loopback)', () => {
  it('delivers every update exactly as sent, in order, through 30% faults', async () => {
    // A call the client gives up on while the emulator still answers it is delivered twice (that is
    // the protocol: at least once). The client's timeout is far from both a loopback answer and the
    // emulator's held call, so only the injected timeouts time out, also on a loaded machine.
    core.setFaults({ failRate: 0.2, timeoutRate: 0.1, timeoutMs: 2_000, statusOnFail: 503, seed: 2024 });
    core.registerJobs(Array.from({ length: 23 }, (_, i) => `job-${i}`));
    const c = client({ maxItemsPerCall: 7, requestTimeoutMs: 1_000 });
    const sent: JobUpdateItem[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const items = Array.from({ length: 15 }, (_, i) => ({
        id: `job-${(batch * 15 + i) % 23}`,
        update: { state: i % 2 ? ('RUNNING' as const) : ('IN_QUEUE' as const), status: `batch ${batch} item ${i}`, newTimeAllocation: i * 1000 },
      }));
      await c.update(items);
      sent.push(...items);
    }
    expect(core.updates.map(({ id, update }) => ({ id, update }))).toEqual(sent);
    expect(core.faultsInjected).toBeGreaterThan(5);
    expect(core.calls.filter((c) => c.status === 0).length).toBeGreaterThan(0); // some timeouts happened
    const ok = core.calls.filter((c) => c.path === '/api/jobs/control/update' && c.status === 200);
    expect(ok.every((c) => c.items <= 7)).toBe(true);
  }, 60_000);

  it('charges, checks and browses keys through faults', async () => {
    core.setFaults({ failRate: 0.3, seed: 9 });
    core.setInsufficientFunds(['j3']);
    core.registerJobs(['j1', 'j2', 'j3', 'j4', 'j5']);
    const keys: SSHKey[] = Array.from({ length: 260 }, (_, i) => ({
      id: `k${i}`,
      owner: 'u',
      createdAt: i,
      fingerprint: `f${i}`,
      specification: { title: `t${i}`, key: `ssh-rsa ${i}` },
    }));
    core.setSshKeys('j1', keys);
    const c = client({ maxItemsPerCall: 2 });
    const items = ['j1', 'j2', 'j3', 'j4', 'j5'].map((id, i) => charge(id, `${id}-w1`, i + 1));
    expect(await c.chargeCredits(items)).toEqual({ insufficientFunds: [{ id: 'j3' }], duplicateCharges: [] });
    expect(await c.checkCredits([charge('j3', 'probe', 0)])).toEqual({ insufficientFunds: [{ id: 'j3' }], duplicateCharges: [] });
    expect(core.charges.map((ch) => ch.item)).toEqual(items);
    expect(core.chargedPeriods('j5')).toBe(5);
    expect(await c.browseSshKeys('j1')).toEqual(keys);
  }, 30_000);

  it('renews short-lived tokens and fails fast on a wrong refresh token', async () => {
    const shortLived = await UCloudCoreEmulator.start({ accessTokenTtlSec: 60 });
    try {
      shortLived.registerJobs(['1']);
      const c = new JobsControlClient({ coreUrl: shortLived.url, refreshToken: shortLived.refreshToken, logger: rootLogger });
      await c.update([update('1')]);
      await c.update([update('1', 'SUCCESS')]);
      // 60 s tokens are always inside the 3-minute window, so each call renews first.
      expect(shortLived.calls.filter((x) => x.path === '/auth/providers/refresh')).toHaveLength(2);
      expect(shortLived.jobStates('1')).toEqual(['RUNNING', 'SUCCESS']);

      const wrong = new JobsControlClient({ coreUrl: shortLived.url, refreshToken: 'wrong', logger: rootLogger });
      await expect(wrong.update([update('1')])).rejects.toMatchObject({ status: 401, kind: 'auth', call: 'refresh' });
    } finally {
      await shortLived.close();
    }
  });
});

describe('UCloudCoreEmulator: Core driving the provider as core2 does', () => {
  /** A provider stand-in on loopback: `answer` decides each reply (or holds it). */
  async function standIn(answer: (req: { method?: string; url?: string; body: string }, res: import('node:http').ServerResponse) => void) {
    const seen: Array<{ method?: string; url?: string; body: string; headers: IncomingHttpHeaders }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, body, headers: req.headers });
        answer({ method: req.method, url: req.url, body }, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      base,
      seen,
      server,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }

  it('a create registers the job; a failed or timed-out create deletes it again (jobCreateThroughProvider)', async () => {
    const p = await standIn((req, res) => {
      const id = (JSON.parse(req.body) as { items: Array<{ id: string }> }).items[0]!.id;
      if (!p.seen.at(-1)!.headers.authorization) res.writeHead(401).end('{"why":"no token"}');
      else if (id === 'ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"responses":[null]}');
      else if (id === 'bad') res.writeHead(400, { 'content-type': 'application/json' }).end('{"why":"no"}');
      else setTimeout(() => res.writeHead(200).end('{}'), 3000).unref(); // answers after Core gave up
    });
    try {
      expect((await core.callProvider(p.base, 'POST', '/ucloud/example/jobs', { items: [{ id: 'ok' }] })).status).toBe(200);
      expect((await core.callProvider(p.base, 'POST', '/ucloud/example/jobs', { items: [{ id: 'bad' }] })).status).toBe(400);
      // The 5 s of core2's client, shortened for the test.
      const late = await core.callProvider(p.base, 'POST', '/ucloud/example/jobs', { items: [{ id: 'late' }] }, { timeoutMs: 300 });
      expect(late).toEqual({ status: 0, body: { timedOut: true } });
      expect([core.knowsJob('ok'), core.knowsJob('bad'), core.knowsJob('late')]).toEqual([true, false, false]);
      expect(core.deletedJobs.map((d) => d.id)).toEqual(['bad', 'late']);
      // A create resent for a job Core has is not this call's to delete when it fails.
      expect((await core.callProvider(p.base, 'POST', '/ucloud/example/jobs', { items: [{ id: 'ok' }] }, { token: null })).status).toBe(401);
      expect(core.knowsJob('ok')).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('polls the manifest and every resource type’s products, in core2’s order, each round', async () => {
    const p = await standIn((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    try {
      core.startPolling(p.base, 50);
      await core.waitFor(() => core.polls.length >= CORE2_POLLED_PATHS.length * 2, 5000, 'two polling rounds');
      core.stopPolling();
      const round = CORE2_POLLED_PATHS.map((x) => `/ucloud/example/${x}`);
      expect(p.seen.slice(0, round.length * 2).map((s) => s.url)).toEqual([...round, ...round]);
      expect(p.seen.every((s) => s.method === 'GET' && s.headers.authorization?.startsWith('Bearer '))).toBe(true);
      expect(core.polls.slice(0, round.length).map((x) => x.status)).toEqual(round.map(() => 200));
    } finally {
      await p.close();
    }
  });

  it('follows with exactly one init frame (streamId "ignored") and ends by closing, never a cancel', async () => {
    const { WebSocketServer } = await import('ws');
    const p = await standIn((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: p.server });
    const got: Array<{ url?: string; auth?: string; frames: string[]; closed: boolean }> = [];
    wss.on('connection', (ws, req) => {
      const c = { url: req.url, auth: req.headers.authorization, frames: [] as string[], closed: false };
      got.push(c);
      ws.on('message', (d) => {
        c.frames.push(d.toString());
        ws.send(JSON.stringify({ type: 'message', streamId: 'ignored', payload: { rank: 0, stdout: 'hello\n' } }));
      });
      ws.on('close', () => (c.closed = true));
    });
    try {
      const f = await core.followAsCore(p.base, { id: '42', status: { state: 'RUNNING' } }, 'alice');
      await core.waitFor(() => f.frames.length === 1, 5000, 'a log frame');
      f.close();
      await f.closed;
      await core.waitFor(() => got[0]?.closed === true, 5000, 'the provider to see the close');
      expect(got).toHaveLength(1);
      expect(got[0]!.url).toBe(`/ucloud/jobs.provider.example/websocket?usernameHint=${Buffer.from('alice').toString('base64url')}`);
      expect(got[0]!.auth).toMatch(/^Bearer /);
      expect(got[0]!.frames.map((x) => JSON.parse(x))).toEqual([
        {
          call: 'jobs.provider.example.follow',
          streamId: 'ignored',
          payload: { type: 'init', job: { id: '42', status: { state: 'RUNNING' } } },
          bearer: '',
          project: null,
        },
      ]);
      expect(f.frames).toEqual([{ type: 'message', streamId: 'ignored', payload: { rank: 0, stdout: 'hello\n' } }]);
    } finally {
      wss.close();
      await p.close();
    }
  });
});

describe('core2JobShape: a job as core2 JobCreate sends it', () => {
  const legacy = {
    id: '1',
    specification: { parameters: { value: { type: 'text', value: 'x' } }, resources: [{ type: 'file', path: '/home/a', readOnly: true }] },
    status: {
      resolvedProduct: { unitOfPrice: 'CREDITS_PER_HOUR', category: { name: 'c', provider: 'p' } },
      resolvedApplication: { invocation: { invocation: [] } },
    },
  };

  it('fills every parameter value field, adds ucMetricSampleRate and the category’s accountingFrequency', () => {
    const j = core2JobShape(legacy) as any;
    expect(Object.keys(j.specification.parameters.value).sort()).toEqual(
      [
        'type',
        'path',
        'mountPath',
        'readOnly',
        'value',
        'hostname',
        'jobId',
        'id',
        'specification',
        'modules',
        'port',
        'tls',
        'server',
        'token',
        'tokenType',
      ].sort(),
    );
    expect(j.specification.parameters.value).toMatchObject({ type: 'text', value: 'x', path: '', port: 0, modules: null });
    expect(j.specification.parameters.ucMetricSampleRate).toMatchObject({ type: 'text', value: '0ms', mountPath: '' });
    expect(j.specification.resources[0]).toMatchObject({ type: 'file', path: '/home/a', readOnly: true, mountPath: '', value: null });
    expect(j.status.resolvedProduct.category.accountingFrequency).toBe('PERIODIC_HOUR');
    expect(legacy.specification.parameters).not.toHaveProperty('ucMetricSampleRate'); // a copy
  });

  it('keeps a sample rate the user chose and swaps in another application (the jinja hook)', () => {
    const withRate = { ...legacy, specification: { ...legacy.specification, parameters: { ucMetricSampleRate: { type: 'text', value: '250ms' } } } };
    const v2 = { invocation: { invocation: [{ type: 'jinja', template: 'echo {{ value }}' }] } };
    const j = core2JobShape(withRate, { application: () => v2 }) as any;
    expect(j.specification.parameters.ucMetricSampleRate.value).toBe('250ms');
    expect(j.status.resolvedApplication).toEqual(v2);
  });
});

import { SUPPORTED_FEATURES } from '../../../src/adapter/features.js';
import { ROUTES } from '../../../src/adapter/app.js';
import { SessionStore } from '../../../src/adapter/sessions/store.js';
import { WebPublisher } from '../../../src/adapter/sessions/web.js';
import { captureLogs } from '../../support/logs.js';
import { counter, jobsPath, makeKeys, PROVIDER, simpleJob, startAdapter, type Harness, type Keys } from './support.js';
import { MemorySecrets } from './memory-secrets.js';

let keys: Keys;
let h: Harness;
beforeAll(async () => {
  keys = await makeKeys();
  h = await startAdapter(keys);
});
afterAll(() => h.close());

describe('routing', () => {
  it.each([
    ['GET', jobsPath('nope')],
    ['POST', jobsPath('nope')],
    ['GET', jobsPath('terminate')],
    ['DELETE', jobsPath()],
    ['POST', '/ucloud/other-provider/jobs'],
    ['GET', '/ucloud/other-provider/jobs/retrieveProducts'],
    ['GET', jobsPath('RetrieveProducts')],
    ['GET', '/'],
  ])('404 JSON for an authenticated %s %s', async (method, path) => {
    const res = await h.call(method, path);
    expect(res).toMatchObject({ status: 404, body: { why: `unknown call ${method} ${path}`, errorCode: 'NOT_FOUND' } });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('does not advertise Express', async () => {
    const res = await h.call('GET', jobsPath('retrieveProducts'));
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('echoes a sane x-request-id and replaces anything else', async () => {
    expect((await h.call('GET', jobsPath('retrieveProducts'), undefined, { headers: { 'x-request-id': 'abc-123' } })).headers.get('x-request-id')).toBe(
      'abc-123',
    );
    const replaced = (await h.call('GET', jobsPath('retrieveProducts'), undefined, { headers: { 'x-request-id': 'a b {"injected": 1}' } })).headers.get(
      'x-request-id',
    );
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('retrieveProducts', () => {
  const vm = { enabled: null, logs: null, vnc: null, terminal: null, timeExtension: null, suspension: null, utilization: null };
  const native = { enabled: null, logs: null, vnc: null, terminal: null, timeExtension: null, utilization: null, web: null };
  it('answers one ComputeSupport per configured product; an adapter without WebSockets claims neither logs nor terminal', async () => {
    const res = await h.call('GET', jobsPath('retrieveProducts'));
    expect(res.status).toBe(200);
    const docker = { enabled: true, web: false, vnc: false, logs: false, terminal: false, peers: true, timeExtension: true, utilization: true };
    expect(res.body).toEqual({
      responses: h.config.products.map((p) => ({
        product: { id: p.id, category: p.category, provider: PROVIDER },
        docker,
        virtualMachine: vm,
        native,
        maintenance: null,
      })),
    });
    expect(res.body.responses).toHaveLength(3);
  });

  it('claims logs with follow, terminal with a session store, web and vnc with a web publisher; each only when wired', async () => {
    expect(SUPPORTED_FEATURES).toEqual({ web: true, vnc: true, logs: true, terminal: true, peers: true, timeExtension: true, utilization: true });
    const store = new SessionStore(new MemorySecrets(), 'ucloud-jobs', 600);
    const wired = await startAdapter(keys, { deps: { interactive: { follow: true, sessions: store } } });
    try {
      const res = await wired.call('GET', jobsPath('retrieveProducts'));
      expect(res.body.responses[0].docker).toEqual({ enabled: true, ...SUPPORTED_FEATURES, web: false, vnc: false });
    } finally {
      await wired.close();
    }
    const config = h.config;
    const web = new WebPublisher(config, h.kube, { create: async () => true });
    const withWeb = await startAdapter(keys, { deps: { interactive: { follow: true, web } } });
    try {
      const res = await withWeb.call('GET', jobsPath('retrieveProducts'));
      expect(res.body.responses[0].docker).toEqual({ enabled: true, ...SUPPORTED_FEATURES, terminal: false });
    } finally {
      await withWeb.close();
    }
  });
});

describe('calls this provider refuses', () => {
  it.each(['suspend', 'unsuspend'])('%s → 400 SUSPENSION_NOT_SUPPORTED', async (op) => {
    const res = await h.call('POST', jobsPath(op), { items: [{ job: simpleJob('s-1') }] });
    expect(res).toMatchObject({ status: 400, body: { why: 'container jobs cannot be suspended', errorCode: 'SUSPENSION_NOT_SUPPORTED' } });
  });

  it.each(['interactiveSession', 'openInteractiveSession'])('%s → 400 SESSIONS_NOT_SUPPORTED without a session store (nothing advertised)', async (op) => {
    for (const sessionType of ['WEB', 'VNC', 'SHELL']) {
      const res = await h.call('POST', jobsPath(op), { items: [{ job: simpleJob('s-1'), rank: 0, sessionType, target: null }] });
      expect(res).toMatchObject({ status: 400, body: { errorCode: 'SESSIONS_NOT_SUPPORTED' } });
    }
    const bad = await h.call('POST', jobsPath(op), { items: [{ job: simpleJob('s-1'), rank: 0, sessionType: 'RDP' }] });
    expect(bad).toMatchObject({ status: 400, body: { errorCode: 'INVALID_REQUEST' } });
    expect(bad.body.why).toMatch(/^items\[0\]\.sessionType: /);
  });
});

describe('calls that are acknowledged', () => {
  it('updateAcl answers one {} per item', async () => {
    const item = { resource: simpleJob('a-1'), added: [{ entity: { type: 'user', username: 'bob' }, permissions: ['READ'] }], deleted: [] };
    expect(await h.call('POST', jobsPath('updateAcl'), { items: [item, item] })).toMatchObject({ status: 200, body: { responses: [{}, {}] } });
    expect((await h.call('POST', jobsPath('updateAcl'), { items: [{ resource: {}, added: [], deleted: [] }] })).status).toBe(400);
  });

  it('init (Kotlin), integration/init and retrieveManifest (core2)', async () => {
    expect(await h.call('POST', jobsPath('init'), { principal: { createdBy: 'user', project: null } })).toMatchObject({ status: 200, body: {} });
    expect((await h.call('POST', jobsPath('init'))).status).toBe(200);
    expect((await h.call('POST', jobsPath('init'), { principal: { createdBy: 5 } })).status).toBe(400);
    expect(await h.call('POST', `/ucloud/${PROVIDER}/integration/init`, { username: 'user' })).toMatchObject({ status: 200, body: {} });
    expect(await h.call('GET', `/ucloud/${PROVIDER}/integration/retrieveManifest`)).toMatchObject({
      status: 200,
      body: { enabled: false, expireAfterMs: null },
    });
  });

  it('none of them writes to the cluster', () => {
    expect(h.kube.writes()).toEqual([]);
  });
});

describe('observability', () => {
  it('counts calls by route name and status, never by raw path', async () => {
    const c = (call: string, code: string) => counter(h.metrics, 'ucloud_operator_adapter_requests_total', { call, code });
    const before = { products: await c('retrieveProducts', '200'), unknown: await c('unknown', '404'), create: await c('create', '400') };
    await h.call('GET', jobsPath('retrieveProducts'));
    await h.call('GET', jobsPath('x-1'));
    await h.call('POST', jobsPath(), { items: [] });
    expect(await c('retrieveProducts', '200')).toBe(before.products + 1);
    expect(await c('unknown', '404')).toBe(before.unknown + 1);
    expect(await c('create', '400')).toBe(before.create + 1);
    expect(await counter(h.metrics, 'ucloud_operator_adapter_rejected_total', { reason: 'invalid_request' })).toBeGreaterThanOrEqual(1);
    const metric = await h.metrics.registry.getSingleMetric('ucloud_operator_adapter_requests_total')!.get();
    const calls = new Set(metric.values.map((v) => v.labels.call));
    const known = new Set([...ROUTES.map((r) => r.call), 'unknown']);
    for (const call of calls) expect(known).toContain(call);
    const durations = await h.metrics.registry.getSingleMetric('ucloud_operator_adapter_request_duration_seconds')!.get();
    expect(durations.values.some((v) => v.labels.call === 'retrieveProducts')).toBe(true);
  });

  it('logs one line per call with call, status, duration, request id and the first job ids', async () => {
    const lines = await captureLogs(() =>
      h.call('POST', jobsPath('verify'), { items: Array.from({ length: 8 }, (_, i) => ({ id: `log-${i}` })) }, { headers: { 'x-request-id': 'req-42' } }),
    );
    const access = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'Provider call');
    expect(access).toMatchObject({
      call: 'verify',
      method: 'POST',
      status: 200,
      requestId: 'req-42',
      jobIds: ['log-0', 'log-1', 'log-2', 'log-3', 'log-4'],
      jobCount: 8,
    });
    expect(typeof access.durationMs).toBe('number');
  });
});

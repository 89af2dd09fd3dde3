// The calls core2 makes besides jobs, as core2 makes them: no Content-Type on JSON bodies
// (shared/pkg/rpc/client.go, CallViaJsonBodyEx) and the user as base64 `ucloud-username`
// (core2/pkg/orchestrator/orchestrator.go, InvokeProvider).
import { callUser } from '../../../src/adapter/access-log.js';
import { POLLED_CALLS } from '../../../src/adapter/app.js';
import { CORE2_LEGACY, CORE2_V2, fixtureJson } from '../../support/fixtures.js';
import { captureLogs } from '../../support/logs.js';
import { jobResourceName } from '../../../src/api/v1alpha1/names.js';
import { makeKeys, NS, PROVIDER, startAdapter, type Harness } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await startAdapter(await makeKeys());
});
afterAll(() => h.close());

/** A call exactly as core2's rpc client sends it. */
async function core2Call(method: 'GET' | 'POST', path: string, body?: unknown, username?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${h.token}` };
  if (username !== undefined) headers['ucloud-username'] = Buffer.from(username).toString('base64');
  const res = await fetch(`${h.url}/ucloud/${PROVIDER}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('provider integration (core2)', () => {
  it('the manifest needs no connection, so core2 counts every user as connected and Submit works', async () => {
    expect(await core2Call('GET', '/integration/retrieveManifest')).toEqual({ status: 200, body: { enabled: false, expireAfterMs: null } });
  });

  it('connect sends the user back to UCloud; unlinked and init are acknowledged', async () => {
    expect(await core2Call('POST', '/integration/connect', { username: 'user#1234' }, 'user#1234')).toEqual({
      status: 200,
      body: { redirectTo: h.config.ucloud.coreUrl },
    });
    expect(await core2Call('POST', '/integration/unlinked', { username: 'user#1234' })).toEqual({ status: 200, body: {} });
    expect(await core2Call('POST', '/integration/init', { username: 'user#1234' })).toEqual({ status: 200, body: {} });
    expect((await core2Call('POST', '/integration/connect', { username: 5 })).status).toBe(400);
  });

  it('requestDynamicParameters adds no parameters', async () => {
    const app = (fixtureJson(CORE2_LEGACY).items[0] as { status: { resolvedApplication: unknown } }).status.resolvedApplication;
    const body = { owner: { createdBy: 'user#1234', project: null }, application: app };
    expect(await core2Call('POST', '/jobs/requestDynamicParameters', body, 'user#1234')).toEqual({ status: 200, body: { parameters: [] } });
  });

  it.each(['/files/collections', '/ingresses', '/networkips', '/licenses', '/private-networks'])(
    '%s/retrieveProducts (polled by core2) answers no products',
    async (prefix) => {
      expect(await core2Call('GET', `${prefix}/retrieveProducts`)).toEqual({ status: 200, body: { responses: [] } });
    },
  );

  it('branding answers a ProviderBranding', async () => {
    expect(await core2Call('GET', '/provider/branding/retrieveInfo')).toEqual({
      status: 200,
      body: expect.objectContaining({ id: PROVIDER, title: PROVIDER, sections: [], productDescription: [] }),
    });
  });

  it('a create as core2 sends it (no Content-Type, ucloud-username) is read as JSON', async () => {
    const res = await core2Call('POST', '/jobs', fixtureJson(CORE2_LEGACY), 'user#1234');
    expect(res).toEqual({ status: 200, body: { responses: [null] } });
  });

  it("logs the polls at debug, so core2's 10 s timers add no info lines; the manifest call is still counted", async () => {
    expect([...POLLED_CALLS].sort()).toEqual(
      [
        'branding',
        'driveProducts',
        'ingressProducts',
        'licenseProducts',
        'privateNetworkProducts',
        'publicIpProducts',
        'retrieveManifest',
        'retrieveProducts',
      ].sort(),
    );
    const lines = await captureLogs(async () => {
      await core2Call('GET', '/integration/retrieveManifest');
      await core2Call('GET', '/licenses/retrieveProducts');
      await core2Call('POST', '/integration/unlinked', { username: 'u' });
    });
    const calls = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'Provider call');
    expect(calls.map((l) => l.call)).toEqual(['integrationUnlinked']);
    expect(calls[0].user).toBeUndefined();
    const metric = await h.metrics.registry.getSingleMetric('ucloud_operator_adapter_requests_total')!.get();
    expect(metric.values.some((v) => v.labels.call === 'retrieveManifest' && v.labels.code === '200')).toBe(true);
  });
});

describe('job calls with the whole Go Job, as core2 sends them', () => {
  const goJob = (id: string) => ({ ...(fixtureJson(CORE2_LEGACY).items[0] as object), id });

  it('terminate, extend, updateAcl (nil lists, omitempty permissions) and interactiveSession read the job from it', async () => {
    expect((await core2Call('POST', '/jobs', { items: [goJob('2001')] })).status).toBe(200);
    expect(
      await core2Call('POST', '/jobs/extend', { items: [{ job: goJob('2001'), requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] }, 'user#1234'),
    ).toMatchObject({ status: 200 });
    expect(await core2Call('POST', '/jobs/updateAcl', { items: [{ resource: goJob('2001'), added: null, deleted: null }] })).toEqual({
      status: 200,
      body: { responses: [{}] },
    });
    expect(
      await core2Call('POST', '/jobs/updateAcl', {
        items: [{ resource: goJob('2001'), added: [{ entity: { type: 'user', username: 'bob' } }], deleted: [{ username: 'eve' }] }],
      }),
    ).toEqual({ status: 200, body: { responses: [{}] } });
    // No terminals are wired in this adapter: refused with a why, not a schema error.
    const session = await core2Call('POST', '/jobs/interactiveSession', { items: [{ job: goJob('2001'), rank: 0, sessionType: 'SHELL', target: null }] });
    expect(session.status).toBe(400);
    expect(session.body.errorCode).not.toBe('INVALID_REQUEST');
    expect(await core2Call('POST', '/jobs/terminate', { items: [goJob('2001')] }, 'user#1234')).toMatchObject({ status: 200 });
  });
});

describe('ucloud-username', () => {
  it('names the user in the access log when it is a printable name, and nothing else', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect(callUser(b64('user#1234'))).toBe('user#1234');
    expect(callUser(b64('SørenÆbelø#0042'))).toBe('SørenÆbelø#0042');
    expect(callUser(b64('a\nforged line'))).toBeUndefined();
    expect(callUser(undefined)).toBeUndefined();
    expect(callUser(['x'])).toBeUndefined();
    const lines = await captureLogs(() => core2Call('POST', '/integration/unlinked', { username: 'user#1234' }, 'user#1234'));
    expect(lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'Provider call')).toMatchObject({ call: 'integrationUnlinked', user: 'user#1234' });
  });
});

describe('creates of both fixtures through the adapter', () => {
  it.each([CORE2_LEGACY, CORE2_V2])('%s is written as a UCloudJob', async (name) => {
    const body = fixtureJson(name);
    const id = `3${(body.items[0] as { id: string }).id}`;
    (body.items[0] as { id: string }).id = id;
    expect(await core2Call('POST', '/jobs', body, 'user#1234')).toEqual({ status: 200, body: { responses: [null] } });
    const job = await h.kube.ucloudJobs.get(NS, jobResourceName(id));
    expect(job?.spec).toMatchObject({ jobId: id, owner: { createdBy: 'user#1234' }, product: { accountingFrequency: 'PERIODIC_MINUTE' } });
  });
});

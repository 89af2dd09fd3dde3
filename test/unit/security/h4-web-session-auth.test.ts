// security: H4 — web and VNC sessions need their per-session secret: the configuration refuses
// web without the auth endpoint, the Ingress is pointed at it, and the endpoint admits a request
// only with a live session's secret (or the host-only cookie it was exchanged for) on that
// session's host, while the job runs and until the session expires. The same end to end on the
// real apiserver: test/integration/web-sessions.test.ts.
import { SessionStore } from '../../../src/adapter/sessions/store.js';
import { WebAuth } from '../../../src/adapter/sessions/web-auth.js';
import { authAnnotations } from '../../../src/adapter/sessions/web.js';
import { JobStore } from '../../../src/adapter/job-store.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { ConfigError } from '../../../src/config.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { MemorySecrets } from '../adapter/memory-secrets.js';
import { NS, job } from '../../support/job-factory.js';

const HOST = 'app-5-0.apps.test';
const VERIFY = 'http://op.ucloud-system.svc:8080/ucloud/example/web-auth';

describe('security: H4 web and VNC sessions are authenticated per session', () => {
  it('refuses interactive.web.enabled without interactive.web.auth.verifyUrl', () => {
    expect(() => unitConfig({ interactive: { web: { enabled: true } } })).toThrow(ConfigError);
    expect(() => unitConfig({ interactive: { web: { enabled: true } } })).toThrow(/auth\.verifyUrl/);
    const ok = unitConfig({ interactive: { web: { enabled: true, auth: { verifyUrl: VERIFY } } } });
    expect(authAnnotations(ok)).toEqual({ 'nginx.ingress.kubernetes.io/auth-url': VERIFY, 'nginx.ingress.kubernetes.io/auth-always-set-cookie': 'true' });
  });

  function setup() {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const kube = new FakeKube();
    const j = kube.seed('UCloudJob', {
      ...job({ jobId: '5', owner: { createdBy: 'alice', project: 'p1' } }, 'uid-5'),
      status: { state: 'RUNNING' },
    } as UCloudJob);
    const store = new SessionStore(new MemorySecrets(), NS, 600, () => new Date(now));
    const auth = new WebAuth(store, new JobStore(kube, NS), { secure: true, now: () => new Date(now), cacheMs: 0 });
    const req = (host: string, query = '', cookie?: string) => ({
      'x-original-url': `https://${host}/${query}`,
      'x-forwarded-host': host,
      ...(cookie ? { cookie } : {}),
    });
    return { kube, j, store, auth, req, advance: (ms: number) => (now += ms) };
  }

  it('admits the secret on its host and sets a host-only cookie; refuses no secret, a wrong one, another host', async () => {
    const { j, store, auth, req } = setup();
    const { identifier } = await store.open(j, 'WEB', 0, { host: HOST });
    expect((await auth.verify(req(HOST))).status).toBe(401);
    expect((await auth.verify(req(HOST, `?ucloud-session=${'x'.repeat(43)}`))).status).toBe(401);
    const first = await auth.verify(req(HOST, `?ucloud-session=${identifier}`));
    expect(first.status).toBe(200);
    expect(first.setCookie).toMatch(/^ucloud-session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
    expect((await auth.verify(req(HOST, '', `other=1; ucloud-session=${identifier}`))).status).toBe(200);
    expect((await auth.verify(req('app-5-1.apps.test', `?ucloud-session=${identifier}`))).status).toBe(401);
    // A terminal session's secret is no web session.
    const shell = await store.open(j, 'SHELL', 0);
    expect((await auth.verify(req(HOST, `?ucloud-session=${shell.identifier}`))).status).toBe(401);
  });

  it('ends with its expiry and with its job', async () => {
    const { kube, j, store, auth, req, advance } = setup();
    const a = await store.open(j, 'WEB', 0, { host: HOST });
    advance(601_000);
    expect((await auth.verify(req(HOST, '', `ucloud-session=${a.identifier}`))).status).toBe(401);
    const c = await store.open(j, 'WEB', 0, { host: HOST });
    expect((await auth.verify(req(HOST, '', `ucloud-session=${c.identifier}`))).status).toBe(200);
    await kube.ucloudJobs.replaceStatus({ ...kube.peek<UCloudJob>('UCloudJob', NS, j.metadata.name)!, status: { state: 'SUCCESS' } } as UCloudJob);
    expect((await auth.verify(req(HOST, '', `ucloud-session=${c.identifier}`))).status).toBe(401);
  });
});

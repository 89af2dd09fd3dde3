// WEB and VNC sessions on the real control plane: interactiveSession publishes the chosen
// rank's web (or VNC) port through a Service and an Ingress at a host from the configured pattern,
// all owned by the job; the real apiserver validates the objects. No ingress controller runs here,
// so the test checks what the operator asked of the cluster, not traffic through it.
import { NetworkingV1Api } from '@kubernetes/client-node';
import { startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, providerCall, runningPods } from '../support/jobs.js';

const JOB_ID = '8401';

describe('web and VNC sessions', () => {
  let stack: TestStack;
  const open = (items: unknown[]) => providerCall(stack, '/interactiveSession', { items }) as Promise<{ status: number; body: any }>;
  const appJob = (id: string, web: boolean) => {
    const job = batchJob(id, { replicas: 2 }) as any;
    job.status.resolvedApplication.invocation.web = web ? { port: 8888 } : null;
    job.status.resolvedApplication.invocation.vnc = web ? { port: 5901, password: 'vnc-secret' } : null;
    return job;
  };

  const VERIFY_URL = 'http://ucloud-operator.ucloud-system.svc:8080/ucloud/example/web-auth';
  const SESSION_URL = (host: string, path = '/') => new RegExp(`^${host.replace(/[.]/g, '\\.')}${path}\\?ucloud-session=[A-Za-z0-9_-]{43}$`);
  beforeAll(async () => {
    stack = await startStack({
      interactive: {
        web: {
          enabled: true,
          domainPattern: 'app-{jobId}-{rank}.apps.test',
          vncDomainPattern: 'vnc-{jobId}-{rank}.apps.test',
          ingressClassName: 'nginx',
          auth: { verifyUrl: VERIFY_URL },
        },
      },
    });
    expect((await createJobs(stack, appJob(JOB_ID, true), appJob('8402', false))).status).toBe(200);
    await runningPods(stack, JOB_ID, 2);
    await crWhen(stack, JOB_ID, (j) => j.status?.state === 'RUNNING', 'the job RUNNING');
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it("WEB: redirectClientTo the rank's host, served by an Ingress and a Service owned by the job", async () => {
    const item = (rank: number, sessionType = 'WEB', id = JOB_ID) => ({ job: { id }, rank, sessionType, target: null });
    const res = await open([item(1)]);
    expect(res).toEqual({
      status: 200,
      body: {
        responses: [
          { type: 'web', jobId: JOB_ID, rank: 1, redirectClientTo: expect.stringMatching(SESSION_URL('https://app-8401-1.apps.test')), domainOverride: null },
        ],
      },
    });
    // Opening again reuses the objects (and is a new session).
    const again = (await open([item(1)])).body.responses[0].redirectClientTo;
    expect(again).toMatch(SESSION_URL('https://app-8401-1.apps.test'));
    expect(again).not.toBe(res.body.responses[0].redirectClientTo);

    const net = stack.ns.kc.makeApiClient(NetworkingV1Api);
    const ingress = await net.readNamespacedIngress({ name: `j-${JOB_ID}-web-1`, namespace: stack.ns.name });
    expect(ingress.spec?.ingressClassName).toBe('nginx');
    expect(ingress.metadata?.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/auth-url': VERIFY_URL,
      'nginx.ingress.kubernetes.io/auth-always-set-cookie': 'true',
    });
    expect(ingress.spec?.rules).toEqual([
      {
        host: 'app-8401-1.apps.test',
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `j-${JOB_ID}-web-1`, port: { number: 80 } } } }] },
      },
    ]);
    expect(ingress.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'UCloudJob', name: `j-${JOB_ID}` });
    const svc = await stack.ns.kube.services.get(stack.ns.name, `j-${JOB_ID}-web-1`);
    expect(svc?.spec?.selector).toEqual({ 'ucloud.dk/job': `j-${JOB_ID}`, 'ucloud.dk/rank': '1' });
    expect(svc?.spec?.ports?.[0]).toMatchObject({ port: 80, targetPort: 8888 });
    const policy = await net.readNamespacedNetworkPolicy({ name: `j-${JOB_ID}-interactive`, namespace: stack.ns.name });
    expect(policy.spec?.ingress?.[0]?.ports?.map((p) => p.port)).toEqual([8888, 5901]);

    // VNC: url and the application's password.
    const vnc = await open([item(0, 'VNC')]);
    expect(vnc).toEqual({
      status: 200,
      body: {
        responses: [
          {
            type: 'vnc',
            jobId: JOB_ID,
            rank: 0,
            url: expect.stringMatching(SESSION_URL('wss://vnc-8401-0.apps.test', '/websockify')),
            password: null,
            domainOverride: null,
          },
        ],
      },
    });
    const vncWithPassword = await open([
      { ...item(0, 'VNC'), job: { id: JOB_ID, status: { resolvedApplication: { invocation: { vnc: { port: 5901, password: 'vnc-secret' } } } } } },
    ]);
    expect(vncWithPassword.body.responses[0].password).toBe('vnc-secret');

    // Refusals: a rank past the last, an application without a web interface.
    expect(await open([item(2)])).toMatchObject({ status: 400, body: { errorCode: 'INVALID_RANK' } });
    expect(await open([item(0, 'WEB', '8402')])).toMatchObject({ status: 400, body: { errorCode: 'NO_WEB_INTERFACE' } });
    expect(await open([item(0, 'VNC', '8402')])).toMatchObject({ status: 400, body: { errorCode: 'NO_VNC_INTERFACE' } });

    const products = await stack.core.callProvider<any>(stack.operator.adapterUrl, 'GET', '/ucloud/example/jobs/retrieveProducts');
    expect(products.body.responses[0].docker).toMatchObject({ web: true, vnc: true, terminal: false });
  }, 60_000);

  it('security: H4 a web session is admitted only with its secret, then its host-only cookie; never another host, never after the job ends', async () => {
    const verify = (headers: Record<string, string>) =>
      fetch(`${stack.operator.adapterUrl}/ucloud/example/web-auth`, { headers }).then(async (r) => ({ status: r.status, cookie: r.headers.get('set-cookie') }));
    const host = 'app-8401-0.apps.test';
    // Anyone who only knows the job id (the host is predictable): refused.
    expect((await verify({ 'x-original-url': `https://${host}/`, 'x-forwarded-host': host })).status).toBe(401);
    expect((await verify({ 'x-original-url': `https://${host}/?ucloud-session=${'A'.repeat(43)}`, 'x-forwarded-host': host })).status).toBe(401);

    const url = new URL((await open([{ job: { id: JOB_ID }, rank: 0, sessionType: 'WEB', target: null }])).body.responses[0].redirectClientTo);
    const secret = url.searchParams.get('ucloud-session')!;
    // The secret, once, on its own host: admitted, and exchanged for a host-only cookie.
    const first = await verify({ 'x-original-url': url.toString(), 'x-forwarded-host': host });
    expect(first.status).toBe(200);
    expect(first.cookie).toMatch(new RegExp(`^ucloud-session=${secret}; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Lax; Secure$`));
    expect(first.cookie).not.toMatch(/Domain=/i);
    // Later requests carry the cookie.
    expect((await verify({ 'x-original-url': `https://${host}/lab`, 'x-forwarded-host': host, cookie: `ucloud-session=${secret}` })).status).toBe(200);
    // The same secret on another rank's (or job's) host: refused.
    const other = 'app-8401-1.apps.test';
    expect((await verify({ 'x-original-url': `https://${other}/?ucloud-session=${secret}`, 'x-forwarded-host': other })).status).toBe(401);
    expect((await verify({ 'x-original-url': `https://${other}/`, 'x-forwarded-host': other, cookie: `ucloud-session=${secret}` })).status).toBe(401);
  }, 60_000);
});

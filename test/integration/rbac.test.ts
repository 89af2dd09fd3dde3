// The operator with nothing but the chart's RBAC: the chart is installed, a
// token for its ServiceAccount is minted with the TokenRequest API (what the kubelet mounts in the
// pod), and the operator, configured from the chart's own ConfigMap, runs the spec example end to
// end with it: Lease, UCloudJob, ConfigMap, Service, NetworkPolicy, pod, status, events, charge.
// The release lives in one namespace and the jobs in another (jobsNamespace), as a site would run it.
// Every permission is also checked the other way: what the chart must not grant, it does not.
import { jest } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { podName } from '../../src/api/v1alpha1/names.js';
import { startOperator, type RunningOperator } from '../../src/operator.js';
import { TEST_PRODUCTS, createTestNamespace, eventually, type TestNamespace } from '../support/harness.js';
import { chartOperatorConfig, helm, installChart, kubectl, runForASecond, serviceAccountKubeConfig } from '../support/ops.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';
import { batchJob, specJob } from '../support/job-factory.js';
import { collectLogs } from '../support/logs.js';
import { exitPod } from '../support/workload.js';

jest.setTimeout(150_000);

/**
 * A release of the chart in namespace `ops` with its credentials Secret (jobs in `ns`: a second
 * namespace, or the same one) and a UCloud/Core emulator, installed before the suite's tests and
 * uninstalled after; `logs` collects what the operator a test starts in-process logs.
 */
function chartRelease(opts: {
  release: string;
  prefix: string;
  separateJobsNamespace: boolean;
  values: (core: UCloudCoreEmulator, jobsNamespace: string) => Record<string, unknown>;
}) {
  const r = {} as { ops: TestNamespace; ns: TestNamespace; core: UCloudCoreEmulator; operator?: RunningOperator; logs: string[] };
  let capture: ReturnType<typeof collectLogs> | undefined;
  beforeAll(async () => {
    r.ops = await createTestNamespace(opts.separateJobsNamespace ? `${opts.prefix}-ops` : opts.prefix);
    r.ns = opts.separateJobsNamespace ? await createTestNamespace(`${opts.prefix}-jobs`) : r.ops;
    r.core = await UCloudCoreEmulator.start({ providerId: 'example' });
    await r.ops.core.createNamespacedSecret({
      namespace: r.ops.name,
      body: { metadata: { name: 'ucloud-credentials' }, stringData: { refreshToken: r.core.refreshToken, publicKey: r.core.publicKeyBase64Der() } },
    });
    await installChart(opts.release, r.ops.name, opts.values(r.core, r.ns.name));
    capture = collectLogs();
    r.logs = capture.lines;
  });
  afterAll(async () => {
    await r.operator?.stop();
    capture?.stop();
    await r.core?.close();
    if (r.ops) await helm(['uninstall', opts.release, '--namespace', r.ops.name, '--wait=false']);
    await r.ns?.delete();
    if (r.ops !== r.ns) await r.ops?.delete();
  });
  return r;
}

/** The spec's example create body. */
const fixture = { items: [specJob()] };

describe('the operator with only the chart RBAC', () => {
  // Unique: its ClusterRole is cluster-wide, and a crashed run must not block the next one.
  const release = `rbac-${process.pid}`;
  const sa = `${release}-ucloud-operator`;
  /** ops: where the release (ServiceAccount, Secret, Deployment) lives; ns: jobsNamespace (UCloudJobs, pods, the Lease). */
  const r = chartRelease({
    release,
    prefix: 'rbac',
    separateJobsNamespace: true,
    values: (core, jobsNamespace) => ({
      providerId: core.providerId,
      ucloud: { coreUrl: core.url, existingSecret: 'ucloud-credentials' },
      products: TEST_PRODUCTS,
      replicaCount: 1,
      jobsNamespace,
      // The test made it (and deletes it); a site's chart would create and label it.
      jobsNamespaceCreate: false,
      // The CRD is cluster-wide and already installed; this release only brings the operator.
      crds: { install: false },
    }),
  });

  /** `resource` is kubectl's TYPE[/NAME]; a subresource is written TYPE#SUB. */
  async function canI(verb: string, resource: string, namespace: string | null = r.ns.name): Promise<boolean> {
    const [type, sub] = resource.split('#') as [string, string | undefined];
    const args = ['auth', 'can-i', verb, type, `--as=system:serviceaccount:${r.ops.name}:${sa}`];
    if (sub) args.push(`--subresource=${sub}`);
    args.push(...(namespace === null ? ['--all-namespaces'] : ['-n', namespace]));
    const res = await kubectl(args);
    return res.stdout.trim() === 'yes';
  }

  it('grants what the operator uses and denies the rest', async () => {
    const lease = `leases.coordination.k8s.io/${release}-ucloud-operator-leader`;
    const expected: Array<[string, string, string | null, boolean]> = [
      ['watch', 'ucloudjobs.ucloud.dk', r.ns.name, true],
      ['create', 'ucloudjobs.ucloud.dk', r.ns.name, true],
      ['patch', 'ucloudjobs.ucloud.dk#status', r.ns.name, true],
      ['create', 'pods', r.ns.name, true],
      ['get', 'pods#log', r.ns.name, true],
      ['create', 'networkpolicies.networking.k8s.io', r.ns.name, true],
      ['create', 'endpointslices.discovery.k8s.io', r.ns.name, true],
      ['create', 'events.events.k8s.io', r.ns.name, true],
      ['create', 'leases.coordination.k8s.io', r.ns.name, true],
      ['update', lease, r.ns.name, true],
      ['list', 'nodes', null, true],
      // Utilization charts read the kubelet's stats, never its proxy (exec through the kubelet).
      ['get', 'nodes#stats', null, true],
      ['get', 'nodes#proxy', null, false],
      ['create', 'nodes#proxy', null, false],
      // Denied: secrets, exec, other namespaces, other leases, cluster-wide writes.
      ['get', 'secrets', r.ns.name, false],
      ['list', 'secrets', r.ns.name, false],
      ['create', 'pods#exec', r.ns.name, false],
      ['update', 'pods', r.ns.name, false],
      ['patch', 'ucloudjobs.ucloud.dk', r.ns.name, false],
      ['deletecollection', 'pods', r.ns.name, false],
      ['delete', 'leases.coordination.k8s.io', r.ns.name, false],
      ['update', 'leases.coordination.k8s.io/someone-elses', r.ns.name, false],
      ['create', 'pods', 'kube-system', false],
      // Not even in its own release namespace: everything it does is in jobsNamespace.
      ['create', 'pods', r.ops.name, false],
      ['get', 'secrets', r.ops.name, false],
      ['create', 'leases.coordination.k8s.io', r.ops.name, false],
      ['update', 'ucloudjobs.ucloud.dk#finalizers', r.ns.name, true],
      ['get', 'pods#attach', r.ns.name, false],
      ['create', 'pods#portforward', r.ns.name, false],
      ['list', 'ucloudjobs.ucloud.dk', null, false],
      ['patch', 'nodes', null, false],
      ['create', 'clusterrolebindings', null, false],
      ['update', 'customresourcedefinitions', null, false],
      ['get', 'configmaps', 'kube-system', false],
    ];
    const actual = await Promise.all(expected.map(async ([verb, res, where]) => [verb, res, where, await canI(verb, res, where)]));
    expect(actual).toEqual(expected);
  });

  it('runs the spec example end to end with a service-account token', async () => {
    const kc = await serviceAccountKubeConfig(r.ops.name, sa);
    expect(kc.getCurrentUser()?.token).toBeTruthy();
    expect(kc.getCurrentUser()?.certData).toBeFalsy();

    // The configuration the chart renders, with the Secret's values as the pod would read them.
    const credentials = { refreshToken: r.core.refreshToken, publicKey: r.core.publicKeyBase64Der() };
    const config = await chartOperatorConfig(r.ops.kube, r.ops.name, release, credentials, 'rbac-test-pod');
    expect(config.leaderElection).toMatchObject({ enabled: true, leaseName: `${release}-ucloud-operator-leader` });
    expect(config.namespace).toBe(r.ns.name);
    r.operator = await startOperator({ config, kc });

    // It takes the chart's Lease and gets ready (caches synced) as leader.
    await eventually(
      async () => (await r.ns.kube.leases.get(r.ns.name, config.leaderElection.leaseName))?.spec?.holderIdentity === 'rbac-test-pod',
      'the Lease',
    );
    await eventually(async () => (await fetch(`${r.operator!.probeUrl}/readyz`)).status === 200, 'readiness as leader');

    const res = await r.core.callProvider(r.operator.adapterUrl, 'POST', `/ucloud/${r.core.providerId}/jobs`, fixture);
    expect(res).toEqual({ status: 200, body: { responses: [null] } });
    const pod = podName('j-54112', 0);
    await eventually(async () => (await r.ns.kube.pods.get(r.ns.name, pod))?.status?.phase === 'Running', 'the pod running on a kwok node');
    await r.core.waitFor(() => r.core.jobStates('54112').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    // Kubernetes times are whole seconds: run into the next second so there is time to charge.
    await runForASecond(r.ns, 'j-54112');
    await exitPod(r.ns.kc, r.ns.name, pod, { code: 0 });
    await r.core.waitFor(() => r.core.jobStates('54112').includes('SUCCESS'), 30_000, 'SUCCESS at UCloud/Core');
    expect(r.core.jobStates('54112')).toEqual(['RUNNING', 'SUCCESS']);
    await r.core.waitFor(() => r.core.charges.some((c) => c.item.id === '54112'), 30_000, 'the charge');
    expect(r.core.chargedPeriods('54112')).toBe(1);

    // Teardown of the children, and the status writes, also went through with these permissions.
    await eventually(async () => (await r.ns.kube.pods.get(r.ns.name, pod)) === undefined, 'the pod to be removed');
    const job = await eventually(async () => {
      const j = await r.ns.kube.ucloudJobs.get(r.ns.name, 'j-54112');
      return j?.status?.accounting?.chargedPeriods === 1 ? j : undefined;
    }, 'the charge watermark in status');
    expect(job.status?.state).toBe('SUCCESS');

    // The cluster-wide read (Nodes) works too: utilization answers.
    const util = await r.core.callProvider(r.operator.adapterUrl, 'GET', `/ucloud/${r.core.providerId}/jobs/retrieveUtilization?categoryId=example-compute`);
    expect(util.status).toBe(200);

    // Nothing was refused along the way (a missing verb would show up as a 403 somewhere).
    expect(r.logs.filter((l) => /forbidden|\b403\b/i.test(l))).toEqual([]);
    // And the token never reached a log line.
    expect(r.logs.some((l) => l.includes(kc.getCurrentUser()!.token!))).toBe(false);
  });

  it('peers (alias Service and EndpointSlices) and termination work with the same token', async () => {
    expect(r.operator).toBeDefined();
    const call = (path: string, body: unknown) => r.core.callProvider(r.operator!.adapterUrl, 'POST', `/ucloud/${r.core.providerId}/jobs${path}`, body);
    expect((await call('', { items: [batchJob('5101', { replicas: 2 })] })).status).toBe(200);
    await r.core.waitFor(() => r.core.jobStates('5101').includes('RUNNING'), 30_000, 'A RUNNING');
    const withPeer = batchJob('5102', { resources: [{ type: 'peer', hostname: 'db', jobId: '5101' }] });
    expect(await call('', { items: [withPeer] })).toEqual({ status: 200, body: { responses: [null] } });
    await r.core.waitFor(() => r.core.jobStates('5102').includes('RUNNING'), 30_000, 'B RUNNING');
    await eventually(() => r.ns.kube.services.get(r.ns.name, 'j-5102-peers'), "B's peer Service");
    await eventually(
      async () => ((await r.ns.kube.endpointSlices.get(r.ns.name, 'j-5102-peers-ipv4-0'))?.endpoints ?? []).length === 3,
      "B's slice lists A's ranks",
    );

    // Terminating A (a spec write) empties B's aliases; terminating B removes everything of it.
    expect((await call('/terminate', { items: [{ id: '5101' }] })).status).toBe(200);
    await r.core.waitFor(() => r.core.jobStates('5101').includes('SUCCESS'), 30_000, 'A ended');
    await eventually(async () => ((await r.ns.kube.endpointSlices.get(r.ns.name, 'j-5102-peers-ipv4-0'))?.endpoints ?? []).length === 0, "B's slice emptied");
    expect((await call('/terminate', { items: [{ id: '5102' }] })).status).toBe(200);
    await r.core.waitFor(() => r.core.jobStates('5102').includes('SUCCESS'), 30_000, 'B ended');
    await eventually(async () => (await r.ns.kube.pods.list(r.ns.name)).items.length === 0, 'every job pod removed');
    expect(r.logs.filter((l) => /forbidden|\b403\b/i.test(l))).toEqual([]);
  });
});

describe('the chart RBAC with rbac.interactiveSessions for SSH keys', () => {
  const release = `rbac-ssh-${process.pid}`;
  /** ops: the release's namespace (the credentials live here); ns: the jobs' own. */
  const r = chartRelease({
    release,
    prefix: 'rbac-ssh',
    separateJobsNamespace: true,
    values: (core, jobsNamespace) => ({
      providerId: core.providerId,
      ucloud: { coreUrl: core.url, existingSecret: 'ucloud-credentials' },
      products: TEST_PRODUCTS,
      replicaCount: 1,
      crds: { install: false },
      jobsNamespace,
      jobsNamespaceCreate: false,
      rbac: { interactiveSessions: true },
      extraConfig: { interactive: { ssh: { enabled: true, host: 'ssh.example.org' } } },
    }),
  });

  it("installs a job's SSH keys Secret, Service and NetworkPolicy with the service-account token", async () => {
    const kc = await serviceAccountKubeConfig(r.ops.name, `${release}-ucloud-operator`);
    const cm = await r.ops.kube.configMaps.get(r.ops.name, `${release}-ucloud-operator`);
    expect(JSON.parse(cm!.data!['config.json']!).interactive).toEqual({
      ssh: { enabled: true, host: 'ssh.example.org' },
      utilization: { enabled: true, intervalSeconds: 5 },
    });
    const credentials = { refreshToken: r.core.refreshToken, publicKey: r.core.publicKeyBase64Der() };
    const config = await chartOperatorConfig(r.ops.kube, r.ops.name, release, credentials, 'rbac-ssh-pod');
    r.operator = await startOperator({ config, kc });
    await eventually(async () => (await fetch(`${r.operator!.probeUrl}/readyz`)).status === 200, 'readiness as leader');

    const id = '8401';
    r.core.setSshKeys(id, [
      { id: 'k1', owner: 'user', createdAt: 1, fingerprint: 'fp1', specification: { title: 'key', key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 key-1' } },
    ]);
    const job = batchJob(id) as { specification: Record<string, unknown>; status: { resolvedApplication: { invocation: Record<string, unknown> } } };
    job.specification.sshEnabled = true;
    job.status.resolvedApplication.invocation.ssh = { mode: 'OPTIONAL' };
    const call = (path: string, body: unknown) => r.core.callProvider(r.operator!.adapterUrl, 'POST', `/ucloud/${r.core.providerId}/jobs${path}`, body);
    expect(await call('', { items: [job] })).toEqual({ status: 200, body: { responses: [null] } });
    await r.core.waitFor(() => r.core.jobStates(id).includes('RUNNING'), 30_000, 'RUNNING');
    const secret = await r.ns.core.readNamespacedSecret({ name: `j-${id}-ssh`, namespace: r.ns.name });
    expect(Buffer.from(secret.data!.authorized_keys!, 'base64').toString('utf8')).toContain('key-1');
    expect(await r.ns.kube.services.get(r.ns.name, `j-${id}-ssh`)).toBeDefined();
    expect(await r.ns.kube.networkPolicies.get(r.ns.name, `j-${id}-ssh`)).toBeDefined();
    // The Secrets permission is the jobs namespace's only: the credentials stay out of reach.
    const read = (namespace: string, name: string) =>
      kc
        .makeApiClient(CoreV1Api)
        .readNamespacedSecret({ namespace, name })
        .then(
          () => 200,
          (e: { code?: number }) => e.code,
        );
    expect(await read(r.ops.name, 'ucloud-credentials')).toBe(403);
    expect(await read(r.ns.name, `j-${id}-ssh`)).toBe(200);

    expect((await call('/terminate', { items: [{ id }] })).status).toBe(200);
    await r.core.waitFor(() => r.core.jobStates(id).includes('SUCCESS'), 30_000, 'ended');
    await eventually(
      async () => (await r.ns.kube.pods.list(r.ns.name)).items.filter((p) => p.metadata?.labels?.['ucloud.dk/job']).length === 0,
      'job pods removed',
    );
    expect(r.logs.filter((l) => /forbidden|\b403\b/i.test(l))).toEqual([]);
  });
});

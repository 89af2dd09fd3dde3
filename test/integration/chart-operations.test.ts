// The chart as people and SREs meet it on the real control plane: a user bound only to the
// standard `view` ClusterRole reads UCloudJobs (kube-controller-manager's clusterrole-aggregation
// controller folds the chart's viewer role into it), `edit` may change them and `view` may not;
// and `helm test` runs the chart's self-test hook against the operator and the Core emulator. The
// operator runs as the built entry point on this machine with the configuration the chart
// rendered (kwok runs the Deployment's pods only as phases); the hook pod's container is run here
// by runPodLocally, and helm waits on its real exit code.
import { jest } from '@jest/globals';
import { createServer } from 'node:net';
import { KUBECONFIG_PATH } from '../support/cluster-env.js';
import { TEST_PRODUCTS, createTestNamespace, eventually, type TestNamespace } from '../support/harness.js';
import { runPodLocally } from '../support/hook-pod-runner.js';
import { batchJob } from '../support/job-factory.js';
import { helm, installChart, kubectl, spawnOperator, type OperatorProcess } from '../support/ops.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';

jest.setTimeout(240_000);

const IMAGE = { repository: 'registry.invalid/ucloud-operator', tag: 'self-test' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('the chart for people and SREs', () => {
  /** The release's namespace (Deployment, credentials, the helm test hook). */
  let ns: TestNamespace;
  /** jobsNamespace: a namespace of its own, as the chart requires (UCloudJobs, the Lease). */
  let jobs: TestNamespace;
  let core: UCloudCoreEmulator;
  let operator: OperatorProcess | undefined;
  // Unique: the user roles are cluster-wide, and a crashed run must not block the next one.
  const release = `ops-${process.pid}`;
  const fullname = `${release}-ucloud-operator`;
  let probePort = 0;

  beforeAll(async () => {
    ns = await createTestNamespace('chart-ops');
    jobs = await createTestNamespace('chart-jobs');
    core = await UCloudCoreEmulator.start({ providerId: 'example' });
    await ns.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'ucloud-credentials' }, stringData: { refreshToken: core.refreshToken, publicKey: core.publicKeyBase64Der() } },
    });
    probePort = await freePort();
    await installChart(release, ns.name, {
      providerId: core.providerId,
      ucloud: { coreUrl: core.url, existingSecret: 'ucloud-credentials' },
      products: TEST_PRODUCTS,
      replicaCount: 1,
      image: IMAGE,
      crds: { install: false },
      jobsNamespace: jobs.name,
      jobsNamespaceCreate: false,
      // The operator's probe port is this machine's (the Service's address does not route here).
      tests: { readyzUrl: `http://127.0.0.1:${probePort}/readyz` },
    });
    // The configuration the chart rendered; the credentials as the pod reads them (files).
    const cm = await ns.kube.configMaps.get(ns.name, fullname);
    const rendered = JSON.parse(cm!.data!['config.json']!);
    operator = await spawnOperator({
      name: 'chart-ops',
      config: {
        ...rendered,
        http: { host: '127.0.0.1', port: 0, probePort },
        leaderElection: { ...rendered.leaderElection, identity: 'chart-ops-pod' },
        reporting: { batchWindowMs: 20 },
      },
      kubeconfig: KUBECONFIG_PATH,
      secrets: { refreshToken: core.refreshToken, publicKey: core.publicKeyBase64Der() },
    });
  });
  afterAll(async () => {
    operator?.kill();
    await operator?.exited;
    await core?.close();
    if (ns) await helm(['uninstall', release, '--namespace', ns.name, '--wait=false']);
    await jobs?.delete();
    await ns?.delete();
  });

  async function as(user: string, args: string[]) {
    return kubectl([...args, `--as=${user}`, '-n', jobs.name]);
  }

  async function bind(user: string, clusterRole: string): Promise<void> {
    const res = await kubectl(['-n', jobs.name, 'create', 'rolebinding', `${user}-${clusterRole}`, `--clusterrole=${clusterRole}`, `--user=${user}`]);
    if (res.code !== 0) throw new Error(res.stderr);
  }

  it('lets a user bound only to view get and list UCloudJobs, and edit change them', async () => {
    // A job through the adapter, so there is a UCloudJob to read.
    const created = await core.callProvider(operator!.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, { items: [batchJob('viewed-1')] });
    expect(created.status).toBe(200);
    const name = await eventually(async () => {
      const list = await jobs.kube.ucloudJobs.list(jobs.name);
      return (list.items[0] as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    }, 'the UCloudJob');

    // Before any binding alice can do nothing; after `view` (and the aggregation) she can read.
    expect((await as('alice', ['get', 'ucloudjobs'])).code).not.toBe(0);
    await bind('alice', 'view');
    await bind('bob', 'edit');
    await eventually(
      async () => (await as('alice', ['auth', 'can-i', 'list', 'ucloudjobs.ucloud.dk'])).stdout.trim() === 'yes',
      'view to aggregate the viewer role',
      60_000,
    );

    const list = await as('alice', ['get', 'ucloudjobs', '-o', 'name']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim()).toBe(`ucloudjob.ucloud.dk/${name}`);
    const got = await as('alice', ['get', 'uj', name, '-o', 'jsonpath={.spec.jobId}']);
    expect([got.code, got.stdout]).toEqual([0, 'viewed-1']);
    // Read only: view may not change or delete a job, nor write its status.
    const denied = await as('alice', ['annotate', 'uj', name, 'note=x']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);
    expect((await as('alice', ['auth', 'can-i', 'delete', 'ucloudjobs.ucloud.dk'])).stdout.trim()).toBe('no');
    expect((await as('alice', ['auth', 'can-i', 'patch', 'ucloudjobs.ucloud.dk', '--subresource=status'])).stdout.trim()).toBe('no');

    // edit (and so admin) gets the editor role: bob may change a job's metadata, not its status.
    await eventually(
      async () => (await as('bob', ['auth', 'can-i', 'patch', 'ucloudjobs.ucloud.dk'])).stdout.trim() === 'yes',
      'edit to aggregate the editor role',
      60_000,
    );
    const annotated = await as('bob', ['annotate', 'uj', name, 'note=repair']);
    expect([annotated.code, annotated.stderr]).toEqual([0, '']);
    expect((await as('bob', ['auth', 'can-i', 'patch', 'ucloudjobs.ucloud.dk', '--subresource=status'])).stdout.trim()).toBe('no');
    const admin = await kubectl(['get', 'clusterrole', 'admin', '-o', 'json']);
    const adminRules = JSON.parse(admin.stdout).rules as Array<{ apiGroups?: string[]; resources?: string[]; verbs: string[] }>;
    expect(adminRules.some((r) => r.apiGroups?.includes('ucloud.dk') && r.resources?.includes('ucloudjobs') && r.verbs.includes('update'))).toBe(true);
  });

  it('passes helm test: the hook reaches /readyz and refreshes a token at Core', async () => {
    const refreshesBefore = core.calls.filter((c) => c.path.endsWith('/auth/providers/refresh') && c.status === 200).length;
    const helmTest = helm(['test', release, '--namespace', ns.name, '--timeout', '120s']);
    const run = await runPodLocally(ns.kc, ns.name, `${fullname}-self-test`, `${IMAGE.repository}:${IMAGE.tag}`);
    const res = await helmTest;
    expect(run.output).toMatch(/"msg":"Self-test readyz passed"/);
    expect(run.output).toMatch(/"msg":"Self-test token-refresh passed"/);
    expect(run.output).not.toContain(core.refreshToken);
    expect(run.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`TEST SUITE:\\s+${fullname}-self-test[\\s\\S]*Phase:\\s+Succeeded`));
    expect(res.code).toBe(0);
    // The refresh really went to Core (the emulator's auth endpoint), once more than before.
    expect(core.calls.filter((c) => c.path.endsWith('/auth/providers/refresh') && c.status === 200).length).toBe(refreshesBefore + 1);
  });

  it('fails helm test when Core refuses the credentials, and says which check failed', async () => {
    const secret = await ns.core.readNamespacedSecret({ name: 'ucloud-credentials', namespace: ns.name });
    secret.data = { ...secret.data, refreshToken: Buffer.from('not-the-token').toString('base64') };
    await ns.core.replaceNamespacedSecret({ name: 'ucloud-credentials', namespace: ns.name, body: secret });
    const helmTest = helm(['test', release, '--namespace', ns.name, '--timeout', '120s']);
    const run = await runPodLocally(ns.kc, ns.name, `${fullname}-self-test`, `${IMAGE.repository}:${IMAGE.tag}`);
    const res = await helmTest;
    expect(run.output).toMatch(/"msg":"Self-test readyz passed"/);
    expect(run.output).toMatch(/"msg":"Self-test token-refresh failed"/);
    expect(run.code).toBe(1);
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/Phase:\s+Failed|failed/);
  });
});

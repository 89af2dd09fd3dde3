// Utilization charts on follow (docs/adr/0027), measured by a real kubelet: a job that burns CPU
// and holds memory shows them in the rows a follower gets (CPU as much as the container's own
// cgroup counted, memory above what it allocated), an idle job shows almost nothing.
// The operator reads the kubelet with the token of a ServiceAccount that holds only what the chart
// grants for charts (nodes get, nodes/stats get), verifying the kubelet's certificate against the
// cluster CA; the same token is refused the kubelet's other APIs.
import { request } from 'node:https';
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createKubeletStats, kubeletEndpoint } from '../../src/adapter/follow/kubelet-summary.js';
import { eventually, testKubeConfig, type TestStack } from '../support/harness.js';
import { runningPods } from '../support/jobs.js';
import { serviceAccountKubeConfig } from '../support/ops.js';
import { describeOnRealNodes, runShellJob, shellJob, startRealStack } from '../support/real-node.js';
import { FrameClient, type Frame } from '../support/ws-frames.js';

const ALLOCATED = 150 * 1000 * 1000;
// A busy loop with 150 MB held in a shell variable. Now and then it prints the CPU time its own
// cgroup has counted ("usage <unix s> <ns>"): the container's account of what it used, which the
// charts must agree with. The host's cores are shared, so how much CPU the loop gets varies.
const BUSY = `usage() { if [ -r /sys/fs/cgroup/cpu.stat ]; then echo $(( $(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat) * 1000 )); else cat /sys/fs/cgroup/cpuacct/cpuacct.usage; fi; }
s=$(head -c ${ALLOCATED} /dev/zero | tr '\\0' x); echo allocated
while :; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo "usage $(date +%s) $(usage)"; done`;
const IDLE = 'echo idle; exec sleep 3600';
const WINDOW_S = 30;

/** The chart rules of charts/ucloud-operator/templates/rbac.yaml (jobs.utilization.enabled). */
const CHART_RULES = [
  { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
  { apiGroups: [''], resources: ['nodes/stats'], verbs: ['get'] },
];

async function statsOnlyKubeConfig(ns: string, name: string): Promise<KubeConfig> {
  const admin = testKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  await rbac.createClusterRole({ body: { metadata: { name }, rules: CHART_RULES } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    },
  });
  return serviceAccountKubeConfig(ns, name);
}

async function deleteClusterRbac(name: string): Promise<void> {
  const rbac = testKubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await rbac.deleteClusterRole({ name }).catch(() => undefined);
}

/** The HTTP status a kubelet answers `path` with, for the credentials of `kc` (certificate verified). */
async function kubeletStatus(kc: KubeConfig, nodeName: string, path: string): Promise<number> {
  const node = await testKubeConfig().makeApiClient(CoreV1Api).readNode({ name: nodeName });
  const { host, port } = kubeletEndpoint(node)!;
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, host, port, path, method: 'GET', rejectUnauthorized: true, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const rowsOf = (frames: Frame[], streamId: string) =>
  frames
    .filter((f) => f.type === 'message' && f.streamId === streamId && f.payload?.channel === 'utilization-data')
    .map((f) => String(f.payload.stdout).split(',').map(Number));
const uiOf = (frames: Frame[], streamId: string) =>
  frames
    .filter((f) => f.type === 'message' && f.streamId === streamId && f.payload?.channel === 'ui')
    .map((f) => String(f.payload.stdout))
    .join('');

describeOnRealNodes('utilization charts on follow', () => {
  let stack: TestStack;
  const rbacName = `util-stats-${process.pid}`;
  let statsKc: KubeConfig;
  beforeAll(async () => {
    let kc: KubeConfig | undefined;
    stack = await startRealStack({ interactive: { followPollSeconds: 0.2, utilization: { intervalSeconds: 1 } } }, () => ({
      interactive: {
        // Resolved when the operator reads its first summary, after the ServiceAccount exists.
        kubeletStats: { summary: (node, signal) => createKubeletStats(kc!).summary(node, signal) },
      },
    }));
    statsKc = kc = await statsOnlyKubeConfig(stack.ns.name, rbacName);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await deleteClusterRbac(rbacName);
  }, 120_000);

  it('a follower sees the CPU a busy job used and the memory it holds, and an idle job almost nothing', async () => {
    await runShellJob(stack, '92701', BUSY);
    await runShellJob(stack, '92702', IDLE);
    const [busyPod] = await runningPods(stack, '92701', 1, 90_000);
    await runningPods(stack, '92702', 1, 90_000);
    const wsUrl = `${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/jobs.provider.${stack.core.providerId}/websocket`;
    const client = await FrameClient.connect(wsUrl, { authorization: `Bearer ${await stack.core.signCoreToken()}` });
    const call = `jobs.provider.${stack.core.providerId}.follow`;
    client.send({ call, streamId: 'busy', payload: { type: 'init', job: shellJob('92701', BUSY) } });
    client.send({ call, streamId: 'idle', payload: { type: 'init', job: shellJob('92702', IDLE) } });

    // The container's own count over at least WINDOW_S seconds after it allocated, inside the rows' span.
    const rowsOfBusy = () => rowsOf(client.frames, 'busy').slice(1);
    const own = await eventually(
      () => {
        const rows = rowsOfBusy();
        const counts = [
          ...(client
            .followText('busy', 0)
            .split('allocated\n')[1]
            ?.matchAll(/^usage (\d+) (\d+)$/gm) ?? []),
        ].map((m) => ({ at: Number(m[1]) * 1000, ns: Number(m[2]) }));
        const inRows = counts.filter((c) => rows.length > 1 && c.at > rows[0]![0]! && c.at <= rows[rows.length - 1]![0]!);
        const [first, last] = [inRows[0], inRows[inRows.length - 1]];
        return first && last && last.at - first.at >= WINDOW_S * 1000 ? { first, last } : undefined;
      },
      `${WINDOW_S} s of the busy job's own CPU count, covered by rows`,
      150_000,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}; busy rows ${JSON.stringify(rowsOfBusy().map((r) => r.slice(0, 3)))}; log tail ${JSON.stringify(client.followText('busy', 0).slice(-300))}`,
      );
    });
    const ownCores = (own.last.ns - own.first.ns) / 1e9 / ((own.last.at - own.first.at) / 1000);
    // The rows' CPU (100 = a core) over the same window: each row is the rate since the row before.
    const all = rowsOf(client.frames, 'busy');
    let coreSeconds = 0;
    let span = 0;
    for (let k = 1; k < all.length; k++) {
      const [t0, t1] = [all[k - 1]![0]!, all[k]![0]!];
      if (t1 <= own.first.at || t1 > own.last.at) continue;
      coreSeconds += (all[k]![1]! / 100) * ((t1 - t0) / 1000);
      span += (t1 - t0) / 1000;
    }
    const chartCores = coreSeconds / span;
    expect(ownCores).toBeGreaterThan(0.1); // it was busy
    expect(Math.abs(chartCores - ownCores)).toBeLessThan(0.1);
    expect(Math.max(...all.map((r) => r[2]!))).toBeGreaterThan(ALLOCATED);

    const idle = await eventually(() => {
      const rows = rowsOf(client.frames, 'idle').slice(1);
      return rows.length >= 2 ? rows : undefined;
    }, 'two idle rows after the first');
    for (const r of idle) {
      expect(r).toHaveLength(64);
      expect(r[1]).toBeLessThan(5); // under 0.05 core
      expect(r[2]).toBeLessThan(50 * 1000 * 1000);
    }

    // The charts, as the web client's StreamProcessor reads them: header, widget, definition lines.
    const lines = uiOf(client.frames, 'busy')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length % 3).toBe(0);
    const widgets = lines.filter((_, i) => i % 3 === 1);
    expect(widgets.map((w) => [w.id, w.type])).toEqual([
      ['cpu', 6],
      ['memory', 6],
      ['network', 6],
    ]);
    const cpuChart = lines[2];
    expect(cpuChart).toMatchObject({ channel: 'utilization-data', series: [{ name: 'CPU', column: 1 }], yAxis: { unit: 3, minimum: 0, maximum: 100 } });
    expect(lines[5].yAxis.maximum).toBe(1e9); // the product's 1 GB memory limit
    await client.close();

    // The token the charts used reads stats and nothing else of the kubelet.
    const node = busyPod!.spec!.nodeName!;
    expect(await kubeletStatus(statsKc, node, '/stats/summary')).toBe(200);
    expect(await kubeletStatus(statsKc, node, '/runningpods/')).toBe(403);
    expect(await kubeletStatus(statsKc, node, '/pods')).toBe(403);
  }, 300_000);
});

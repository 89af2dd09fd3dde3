// (g) Pod start latency on a real node: from the create call to the container running, as a watch
// sees it. The operator's path (UCloud/Core's create call to the adapter -> UCloudJob -> reconcile
// -> ConfigMap, Service, NetworkPolicy, pod -> kubelet) against a bare pod of the same shape created
// by a plain client call, alternately in the same run on the same node(s), so the kubelet's and
// containerd's share (sandbox, CNI, volumes, runc) is in both and the ratio is the operator's cost.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { UCloudCoreEmulator } from '../test/support/ucloud-core-emulator.js';
import { clusterEnv, createNamespace, deleteNamespace, percentile, ports, rawConfig, simpleJob, sleep, startOperatorProcess } from './lib.js';

const IMAGE = 'localhost/ucloud-shell:local';
const TOLERATION = { key: 'ucloud.dk/real-node', operator: 'Exists', effect: 'NoSchedule' };

export interface StartLatency {
  samples: number;
  operatorMs: number[];
  bareMs: number[];
  p50: { operator: number; bare: number };
  p99: { operator: number; bare: number };
}

/** The first time (ms since the epoch) a read shows pod `name`'s container running, polled every
 *  50 ms for both paths alike (a watch would end on client-node's inactivity timeout between
 *  samples). */
async function runningAt(api: CoreV1Api, ns: string, name: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await api.readNamespacedPod({ name, namespace: ns }).catch(() => undefined);
    if (pod?.status?.containerStatuses?.[0]?.state?.running) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: pod ${name} running`);
    await sleep(50);
  }
}

export async function benchRealNodeStart(kc: KubeConfig, core: UCloudCoreEmulator, samples: number, logDir: string): Promise<StartLatency | undefined> {
  const env = clusterEnv();
  if (Number(env.REAL_NODES ?? 0) < 1) return undefined;
  const ns = await createNamespace(kc, 'g-real');
  const raw = rawConfig(ns, core, {
    products: [{ id: 'real-compute-1', category: 'real-compute', cpu: 1, memoryInGigs: 1, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' }],
    categories: { 'real-compute': { tolerations: [TOLERATION] } },
    jobs: { imagePullPolicy: 'Never', networkPolicy: { dnsIpBlocks: [`${env.REAL_NODE_IP}/32`] } },
  });
  const op = await startOperatorProcess(raw, `${logDir}/g-operator.log`, ports());
  const api = kc.makeApiClient(CoreV1Api);
  const operatorMs: number[] = [];
  const bareMs: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      // Operator path: the job as UCloud/Core sends it.
      const id = String(700000 + i);
      const job = simpleJob(id) as any;
      job.specification.product = { id: 'real-compute-1', category: 'real-compute', provider: core.providerId };
      job.specification.parameters = {};
      Object.assign(job.status.resolvedProduct, {
        name: 'real-compute-1',
        category: { name: 'real-compute', provider: core.providerId },
        cpu: 1,
        memoryInGigs: 1,
      });
      const app = job.status.resolvedApplication.invocation;
      app.tool.tool.description.image = IMAGE;
      app.parameters = [];
      app.invocation = ['sleep', '3600'].map((word) => ({ type: 'word', word }));
      const t0 = Date.now();
      const res = await core.callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, { items: [job] });
      if (res.status !== 200) throw new Error(`create ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      operatorMs.push((await runningAt(api, ns, `j-${id}-0`, 180_000)) - t0);

      // Baseline: a bare pod of the same shape (user, limits, volumes the kubelet must set up).
      const name = `bare-${i}`;
      const t1 = Date.now();
      await api.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            tolerations: [TOLERATION],
            nodeSelector: { 'ucloud.dk/machine': 'real-compute' },
            securityContext: { runAsNonRoot: true, runAsUser: 11042, runAsGroup: 11042, fsGroup: 11042, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'c',
                image: IMAGE,
                imagePullPolicy: 'Never',
                command: ['sleep', '3600'],
                resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'work', mountPath: '/work' },
                  { name: 'dshm', mountPath: '/dev/shm' },
                ],
              },
            ],
            volumes: [
              { name: 'work', emptyDir: {} },
              { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
            ],
          },
        },
      });
      bareMs.push((await runningAt(api, ns, name, 180_000)) - t1);

      // Both go before the next pair: one running pod per product at a time (1 CPU each, 2 cores).
      await core.callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs/terminate`, { items: [{ id }] });
      await api.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 });
      for (let k = 0; k < 1200; k++) {
        const left = (await api.listNamespacedPod({ namespace: ns })).items.length;
        if (left === 0) break;
        await sleep(100);
      }
    }
  } finally {
    op.child.kill('SIGTERM');
    await op.exited;
    await deleteNamespace(kc, ns);
  }
  const q = (xs: number[], p: number) => percentile(xs, p);
  return {
    samples,
    operatorMs,
    bareMs,
    p50: { operator: q(operatorMs, 50), bare: q(bareMs, 50) },
    p99: { operator: q(operatorMs, 99), bare: q(bareMs, 99) },
  };
}

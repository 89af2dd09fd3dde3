// Figure i (docs/performance.md, docs/adr/0025): drain N four-rank jobs through nodes that hold
// four of them at a time, with the native gang backend and with none. Dedicated kwok nodes (2
// ranks each, tainted, labelled per run) so nothing else lands there; each rank runs RUN_SECONDS
// (kwok's exit stage). Ideal = sum of runtimes / parallelism = N·RUN/4; the figure is the drain
// time (submission -> every job final) over it. Sampled every 200 ms: rank-seconds spent bound
// by a job whose other ranks have no node (a partial gang holding room), as node-seconds.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, isFinal, type UCloudJob } from '../src/api/v1alpha1/ucloudjob.js';
import type { UCloudCoreEmulator } from '../test/support/ucloud-core-emulator.js';
import {
  CLUSTER_DIR,
  createNamespace,
  deleteNamespace,
  log,
  mapLimited,
  operatorConfig,
  ports,
  rawConfig,
  simpleResource,
  sleep,
  startOperatorProcess,
  waitUntil,
} from './lib.js';
import { resolve } from 'node:path';

const RANKS = 4;
const RANKS_PER_NODE = 2;
const PARALLEL_JOBS = 4;
const NODES = (PARALLEL_JOBS * RANKS) / RANKS_PER_NODE;
const RUN_SECONDS = Number(process.env.BENCH_GANG_RUN_SECONDS ?? 10);
const TAINT = 'ucloud.dk/bench-gang';

export interface DrainResult {
  backend: 'native' | 'none';
  jobs: number;
  drainMs: number;
  idealMs: number;
  succeeded: number;
  failed: number;
  partialNodeSeconds: number;
  samples: number;
}

/** NODES dedicated kwok nodes of two ranks each, labelled and tainted with `tag`; resolves to their removal. */
export async function gangNodes(kc: KubeConfig, tag: string): Promise<() => Promise<void>> {
  const core = kc.makeApiClient(CoreV1Api);
  const names = Array.from({ length: NODES }, (_, i) => `kwok-${tag}-${i}`);
  for (const name of names) {
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { 'kubernetes.io/hostname': name, type: 'kwok', [TAINT]: tag },
        },
        spec: { providerID: `kwok://${name}`, taints: [{ key: TAINT, value: tag, effect: 'NoSchedule' }] },
        // example-compute-1 is 1 CPU, 2 GiB: two ranks per node.
        status: {
          allocatable: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '1Ti' },
          capacity: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '1Ti' },
        },
      },
    });
  }
  await waitUntil(
    async () =>
      (await Promise.all(names.map((name) => core.readNode({ name })))).every((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    'the drain nodes Ready',
    60_000,
  );
  return async () => {
    for (const name of names) await core.deleteNode({ name }).catch(() => undefined);
  };
}

/** Configuration that puts example-compute on the gangNodes of `tag` only. */
export function gangCategory(tag: string): Record<string, unknown> {
  return {
    useMachineSelector: false,
    categories: { 'example-compute': { nodeSelector: { [TAINT]: tag }, tolerations: [{ key: TAINT, operator: 'Equal', value: tag, effect: 'NoSchedule' }] } },
  };
}

export async function drain(kc: KubeConfig, core: UCloudCoreEmulator, backend: 'native' | 'none', n: number, idBase: number): Promise<DrainResult> {
  const ns = await createNamespace(kc, `bb-gang-${backend}`);
  const removeNodes = await gangNodes(kc, ns);
  const raw = rawConfig(ns, core, {
    ...gangCategory(ns),
    // none: today's rules, with timeouts short enough that two half-placed gangs stuck on each
    // other give up (and free their nodes) within the run.
    jobs: {
      gang: { backend },
      gangTimeoutSeconds: 30,
      unschedulableGraceSeconds: 30,
      vanishedPodGraceSeconds: 30,
      ephemeralStorage: { default: '1Gi' },
      podAnnotations: { 'kwok.test/exit-after': `${RUN_SECONDS}s` },
    },
  });
  const config = operatorConfig(raw);
  const jobIds = Array.from({ length: n }, (_, i) => String(idBase + i));
  core.registerJobs(jobIds);
  const op = await startOperatorProcess(raw, resolve(CLUSTER_DIR, `bench-operator-${ns}.log`), ports());
  const custom = kc.makeApiClient(CustomObjectsApi);
  const api = kc.makeApiClient(CoreV1Api);

  let sampling = true;
  let partialRankMs = 0;
  let samples = 0;
  const sampler = (async () => {
    let last = performance.now();
    // A gang's pods are bound by one API call each after one decision, so a sample can fall between
    // those calls: an interval counts only when the job was partial, with the same ranks bound,
    // at both its ends (a partial gang holding room stays so until a job ends).
    let before = new Map<string, string>();
    while (sampling) {
      const pods = (await api.listNamespacedPod({ namespace: ns, labelSelector: 'ucloud.dk/job' })).items.filter((p: V1Pod) => !p.metadata?.deletionTimestamp);
      const now = performance.now();
      const byJob = new Map<string, V1Pod[]>();
      for (const p of pods) byJob.set(p.metadata!.labels!['ucloud.dk/job']!, [...(byJob.get(p.metadata!.labels!['ucloud.dk/job']!) ?? []), p]);
      const partial = new Map<string, string>();
      for (const [job, ps] of byJob) {
        const holding = ps.filter((p) => p.spec?.nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
        const waiting = RANKS - ps.filter((p) => p.spec?.nodeName).length;
        if (!holding.length || waiting <= 0) continue;
        const set = holding
          .map((p) => p.metadata?.name)
          .sort()
          .join(',');
        partial.set(job, set);
        if (before.get(job) === set) partialRankMs += holding.length * (now - last);
      }
      before = partial;
      samples++;
      last = now;
      await sleep(200);
    }
  })();

  const t0 = performance.now();
  await mapLimited(jobIds, 16, (id) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, body: simpleResource(id, config, RANKS) }),
  );
  const timeout = Math.max(600_000, n * RUN_SECONDS * 1000 * 4);
  await waitUntil(
    async () => {
      const items = ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns })) as { items: UCloudJob[] })
        .items;
      return items.length === n && items.every((j) => isFinal(j.status?.state));
    },
    `every ${backend} job final`,
    timeout,
    250,
  );
  const drainMs = performance.now() - t0;
  sampling = false;
  await sampler;
  const items = ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns })) as { items: UCloudJob[] }).items;
  op.child.kill('SIGTERM');
  await op.exited;
  await deleteNamespace(kc, ns);
  await removeNodes();
  const result: DrainResult = {
    backend,
    jobs: n,
    drainMs,
    idealMs: (n * RUN_SECONDS * 1000) / PARALLEL_JOBS,
    succeeded: items.filter((j) => j.status?.state === 'SUCCESS').length,
    failed: items.filter((j) => j.status?.state === 'FAILURE').length,
    partialNodeSeconds: partialRankMs / 1000 / RANKS_PER_NODE,
    samples,
  };
  log(`i ${backend}: ${JSON.stringify(result)}`);
  return result;
}

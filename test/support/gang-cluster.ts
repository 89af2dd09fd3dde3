// The set-up the gang-admission tests share (docs/adr/0025): kwok nodes of the test's own that hold
// exactly two 4-rank jobs of example-compute-1, a sampler that watches for partial gangs holding
// nodes, and the checks that every job that waited said why before it ran and was charged only
// for the time it ran. test/integration/gang-queue.test.ts (native backend) and
// kueue-queue.test.ts (Kueue) run the same load through them.
// expect from @jest/globals: this folder is also built for the chaos and bench runs, which have no Jest globals.
import { expect } from '@jest/globals';
import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { eventually, testKubeConfig, type TestNamespace, type TestStack } from './harness.js';
import { cr } from './jobs.js';

export const GANG_JOBS = 10;
export const GANG_RANKS = 4;
const NODES = 4;
const SECOND = 1000;
const TAINT = 'ucloud.dk/gang-test';

export interface GangNodes {
  names: string[];
  /** Operator configuration that puts example-compute jobs on these nodes only. */
  placement: Record<string, unknown>;
  remove(): Promise<void>;
}

/**
 * Four kwok nodes, each with room for two ranks of example-compute-1 (1 CPU, 2 GiB): 2 CPUs,
 * 4 GiB. Labelled and tainted with `tag` so that no other test's pod lands there; `labels` are
 * added to each (a Kueue flavor's nodeLabels, for one).
 */
export async function createGangNodes(tag: string, labels: Record<string, string> = {}): Promise<GangNodes> {
  const core = testKubeConfig().makeApiClient(CoreV1Api);
  const names = Array.from({ length: NODES }, (_, i) => `kwok-gang-${tag}-${i}`);
  for (const name of names) {
    const node: V1Node = {
      metadata: {
        name,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { 'kubernetes.io/hostname': name, type: 'kwok', [TAINT]: tag, ...labels },
      },
      spec: { providerID: `kwok://${name}`, taints: [{ key: TAINT, value: tag, effect: 'NoSchedule' }] },
      status: {
        allocatable: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '1Ti' },
        capacity: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '1Ti' },
      },
    };
    await core.createNode({ body: node });
  }
  await eventually(async () => {
    const nodes = await Promise.all(names.map((name) => core.readNode({ name })));
    return nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }, 'the gang nodes Ready');
  return {
    names,
    // Only these nodes: a selector on their label, a toleration of their taint.
    placement: {
      useMachineSelector: false,
      categories: { 'example-compute': { nodeSelector: { [TAINT]: tag }, tolerations: [{ key: TAINT, operator: 'Equal', value: tag, effect: 'NoSchedule' }] } },
    },
    remove: async () => {
      for (const name of names) await core.deleteNode({ name }).catch(() => undefined);
    },
  };
}

interface Sample {
  at: number;
  /** Job → its bound ranks (`pod@node,...`), for jobs that are partial in this sample. */
  partial: Map<string, string>;
}

export interface GangSampler {
  /**
   * Stops sampling; the partial gangs that held nodes, how many samples were taken and fell between
   * a gang's bind calls, and when each job (by its pods' `ucloud.dk/job` label) was first seen with
   * every rank on a node.
   */
  stop(): Promise<{ held: string[]; samples: number; inFlight: number; placedAt: Map<string, number> }>;
}

/**
 * Samples the namespace's job pods every 50 ms. A partial gang: some of a job's ranks on nodes
 * while another of its ranks waits for one (or has no pod yet); ranks that ended are on their node
 * still, teardown pods are left out. The scheduler binds a placed gang's pods with one API call
 * each, so a sample can fall between two of those calls; a gang that holds nodes while waiting for
 * room stays partial, unchanged, until a job ends (seconds). So: held = a job seen partial with the
 * same ranks bound in samples a second apart.
 */
export function sampleGangs(ns: TestNamespace): GangSampler {
  const samples: Sample[] = [];
  const placedAt = new Map<string, number>();
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const pods = (await ns.kube.pods.list(ns.name, 'ucloud.dk/job')).items.filter((p: V1Pod) => !p.metadata?.deletionTimestamp);
      const byJob = new Map<string, V1Pod[]>();
      for (const p of pods) byJob.set(p.metadata!.labels!['ucloud.dk/job']!, [...(byJob.get(p.metadata!.labels!['ucloud.dk/job']!) ?? []), p]);
      const partial = [...byJob].filter(([, ps]) => {
        const bound = ps.filter((p) => p.spec?.nodeName).length;
        return bound > 0 && bound < GANG_RANKS && ps.some((p) => p.status?.phase === 'Pending' || !p.spec?.nodeName);
      });
      const boundSet = (ps: V1Pod[]) =>
        ps
          .filter((p) => p.spec?.nodeName)
          .map((p) => `${p.metadata?.name}@${p.spec?.nodeName}`)
          .sort()
          .join(',');
      const at = Date.now();
      for (const [job, ps] of byJob) if (!placedAt.has(job) && ps.filter((p) => p.spec?.nodeName).length >= GANG_RANKS) placedAt.set(job, at);
      samples.push({ at, partial: new Map(partial.map(([j, ps]) => [j, boundSet(ps)])) });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      sampling = false;
      await loop;
      const held: string[] = [];
      for (const [i, s] of samples.entries()) {
        for (const [job, bound] of s.partial) {
          const later = samples.slice(i + 1).find((x) => x.at - s.at >= SECOND);
          if (later && samples.slice(i + 1, samples.indexOf(later) + 1).every((x) => x.partial.get(job) === bound)) held.push(`${job} holds ${bound}`);
        }
      }
      return { held, samples: samples.length, inFlight: samples.filter((s) => s.partial.size).length, placedAt };
    },
  };
}

export interface Queued {
  id: string;
  waitedMs: number;
  /** The first status text the job's wait was reported with. */
  first: string;
}

/**
 * For every job: its waiting texts (matching `waiting`) reached UCloud/Core before its RUNNING, and
 * its charges are whole periods (accounting.minuteMillis = 1 s) of running time, from startedAt on,
 * none for the wait. Returns the jobs that waited, with how long and their first reason.
 */
export async function expectWaitedAndUncharged(stack: TestStack, ids: readonly string[], submittedAt: number, waiting: RegExp): Promise<Queued[]> {
  const { core } = stack;
  const queued: Queued[] = [];
  for (const id of ids) {
    const updates = core.updates.filter((u) => u.id === id);
    const running = updates.find((u) => u.update.state === 'RUNNING')!;
    const said = updates.filter((u) => u.update.state === undefined && waiting.test(u.update.status ?? ''));
    const job = (await cr(stack, id))!;
    const startedAt = Date.parse(job.status!.startedAt!);
    const finishedAt = Date.parse(job.status!.finishedAt!);
    for (const w of said) expect(updates.indexOf(w)).toBeLessThan(updates.indexOf(running));
    if (said.length) queued.push({ id, waitedMs: startedAt - submittedAt, first: said[0]!.update.status! });
    const charges = core.charges.filter((c) => c.item.id === id);
    expect(charges.length).toBeGreaterThan(0);
    for (const c of charges) expect(Number(c.item.chargeId.split('_').at(-1))).toBeGreaterThanOrEqual(startedAt);
    // Per chargeId, as Core counts them (a resend of a window is the same charge).
    expect(core.chargedPeriods(id)).toBeLessThanOrEqual(Math.ceil((finishedAt - startedAt) / SECOND));
  }
  expect(core.conflictingCharges()).toEqual([]);
  return queued;
}

/** retrieveProducts' queueStatus of a product, as UCloud/Core asks for it. */
export async function queueStatusOf(stack: TestStack, productId: string): Promise<string | undefined> {
  const { status, body } = await stack.core.callProvider<{ responses: Array<{ product: { id: string }; queueStatus?: string }> }>(
    stack.operator.adapterUrl,
    'GET',
    `/ucloud/${stack.core.providerId}/jobs/retrieveProducts`,
  );
  expect(status).toBe(200);
  return body.responses.find((r) => r.product.id === productId)?.queueStatus;
}

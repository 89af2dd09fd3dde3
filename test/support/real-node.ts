// Real-node tests: jobs whose containers really run, on the kubelet nodes scripts/cluster-up
// --real-nodes starts (scripts/cluster/real-nodes). One place to say whether this machine has them,
// how the operator is configured for them, and how to run a job and read what its containers said.
//
//   describeOnRealNodes('...', () => { ... })     skipped, with the reason printed, without nodes
//   const stack = await startRealStack();          operator + Core emulator + namespace
//   const job = await runShellJob(stack, id, script, { replicas: 4 });
//   const out = await job.output();                every rank's stdout up to the end marker
import { describe } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { jobResourceName, podName } from '../../src/api/v1alpha1/names.js';
import { clusterEnv } from './cluster-env.js';
import { eventually, startStack, type TestStack } from './harness.js';
import { batchJob } from './job-factory.js';
import { createJobs, crWhen, noPodsLeft, providerCall, runningPods, terminate } from './jobs.js';
import { FrameClient } from './ws-frames.js';

const env = clusterEnv();
/** How many real nodes the test cluster has (0: none; REAL_NODES_SKIPPED says why). */
export const REAL_NODES = Number(env.REAL_NODES ?? '0');
export const REAL_NODE_IP = env.REAL_NODE_IP ?? '';
export const REAL_NODE_POD_RANGE = env.REAL_NODE_POD_RANGE ?? '';
export const IMAGES = {
  /** busybox, USER 1000:1000 */
  shell: 'localhost/ucloud-shell:local',
  /** busybox, no USER (root) */
  root: 'localhost/ucloud-root:local',
  /** busybox, USER 11042:11042 */
  ucloud: 'localhost/ucloud-11042:local',
  /** busybox and bash, USER 11042:11042 */
  bash: 'localhost/ucloud-bash:local',
} as const;
export const REAL_CATEGORY = 'real-compute';
export const REAL_PRODUCT = 'real-compute-1';

let skipNoted = false;
/** describe() on a machine with real nodes; elsewhere describe.skip, saying why (once per file). */
export function describeOnRealNodes(name: string, fn: () => void): void {
  if (REAL_NODES > 0) {
    describe(name, fn);
    return;
  }
  if (!skipNoted) {
    skipNoted = true;
    const why = env.REAL_NODES_SKIPPED ?? (env.KUBECONFIG ? 'the cluster was started without --real-nodes' : 'no test cluster');
    process.stderr.write(`real-node tests skipped: ${why}\n`);
  }
  describe.skip(name, fn);
}

/** Operator configuration for real nodes: a product on them, their taint tolerated, images that
 *  are only ever local, and cluster DNS (a host process on the node IP) allowed by the policy. */
export function realNodeOverrides(): Record<string, unknown> {
  return {
    products: [
      { id: REAL_PRODUCT, category: REAL_CATEGORY, cpu: 1, memoryInGigs: 1, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
      { id: 'example-compute-1', category: 'example-compute', cpu: 1, memoryInGigs: 2, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
    ],
    categories: { [REAL_CATEGORY]: { tolerations: [{ key: 'ucloud.dk/real-node', operator: 'Exists', effect: 'NoSchedule' }] } },
    jobs: { imagePullPolicy: 'Never', networkPolicy: { dnsIpBlocks: [`${REAL_NODE_IP}/32`] } },
  };
}

export function startRealStack(overrides: Record<string, unknown> = {}, operator?: Parameters<typeof startStack>[1]): Promise<TestStack> {
  return startStack(merge(realNodeOverrides(), overrides), operator);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    const bothObjects = [v, prev].every((x) => x && typeof x === 'object' && !Array.isArray(x));
    out[k] = bothObjects ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export interface ShellJobOptions {
  replicas?: number;
  image?: string;
  /** UCloud specification.resources (files, peers). */
  resources?: unknown[];
  runAsRoot?: boolean;
  timeAllocationSeconds?: number;
}

/** A UCloud job request running `sh -c script` on the real-node product. */
export function shellJob(id: string, script: string, opts: ShellJobOptions = {}): Record<string, unknown> {
  const job = batchJob(id, { replicas: opts.replicas, timeAllocationSeconds: opts.timeAllocationSeconds ?? 600, resources: opts.resources }) as any;
  job.specification.product = { id: REAL_PRODUCT, category: REAL_CATEGORY, provider: 'example' };
  job.specification.parameters = {};
  Object.assign(job.status.resolvedProduct, { name: REAL_PRODUCT, category: { name: REAL_CATEGORY, provider: 'example' }, cpu: 1, memoryInGigs: 1 });
  const app = job.status.resolvedApplication;
  app.invocation.tool.tool.description.image = opts.image ?? IMAGES.shell;
  app.invocation.parameters = [];
  app.invocation.invocation = ['sh', '-c', script].map((word) => ({ type: 'word', word }));
  app.invocation.allowAdditionalMounts = true;
  app.invocation.allowAdditionalPeers = true;
  if (opts.runAsRoot) app.invocation.container = { changeWorkingDirectory: true, runAsRoot: true, runAsRealUser: false };
  return job;
}

/** Printed by a job's script when its output is complete; the container then waits to be stopped. */
export const END = '__ucloud_test_end__';
/** Appends the end marker and a wait: the pods (and their logs) stay until the test is done. */
export const thenWait = (script: string) => `${script}\necho ${END}\nexec sleep 3600`;

/**
 * A stand-in for an address a job may or may not reach: a TCP server on this machine that serves
 * one line to whoever connects, the proof a probe got through. The caller picks a host address
 * that stays on the machine (the node IP, a link-local address it added to lo, a namespace it made).
 */
export async function standIn(host: string, port: number): Promise<Server> {
  const server = createServer((s) => s.end('reachable\n'));
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, ok));
  return server;
}

/** Shell: `probe NAME HOST PORT` prints "NAME reached" or "NAME blocked" (a stand-in answered or not within `seconds`). */
export const probeShell = (seconds = 3): string =>
  `probe() { { got=$(timeout ${seconds} nc "$2" "$3" </dev/null); } 2>/dev/null; if [ -n "$got" ]; then echo "$1 reached"; else echo "$1 blocked"; fi; }`;

export interface RunningShellJob {
  id: string;
  name: string;
  /** Each rank's log up to (not including) the END line; waits until every rank printed it. */
  output(timeoutMs?: number): Promise<string[]>;
  /** A rank's whole log as it is now (container `user-job`). */
  log(rank: number): Promise<string>;
  /** Terminates the job (UCloud/Core's call) and waits until its pods are gone: frees the node. */
  finish(): Promise<void>;
}

/** Submits a shell job through the provider API (UCloud/Core's path) and returns its handle. */
export async function runShellJob(stack: TestStack, id: string, script: string, opts: ShellJobOptions = {}): Promise<RunningShellJob> {
  const res = await createJobs(stack, shellJob(id, script, opts));
  if (res.status !== 200) throw new Error(`job ${id} refused: ${res.status} ${JSON.stringify(res.body)}`);
  return shellJobHandle(stack, id, opts.replicas ?? 1);
}

export function shellJobHandle(stack: TestStack, id: string, replicas: number): RunningShellJob {
  const name = jobResourceName(id);
  const core = stack.ns.kc.makeApiClient(CoreV1Api);
  const log = async (rank: number) => {
    try {
      return await core.readNamespacedPodLog({ name: podName(name, rank), namespace: stack.ns.name, container: 'user-job' });
    } catch {
      return '';
    }
  };
  return {
    id,
    name,
    log,
    finish: async () => {
      await terminate(stack, id);
      await noPodsLeft(stack, id, 90_000);
    },
    output: async (timeoutMs = 90_000) => {
      try {
        return await eventually(
          async () => {
            const logs = await Promise.all(Array.from({ length: replicas }, (_, r) => log(r)));
            if (!logs.every((l) => l.includes(`${END}\n`))) return undefined;
            return logs.map((l) => l.slice(0, l.indexOf(`${END}\n`)));
          },
          `every rank of job ${id} to print its output`,
          timeoutMs,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${await describeJob(stack, id, replicas)}`, { cause: e });
      }
    },
  };
}

/**
 * The control of a network test: a bare pod on a real node that no NetworkPolicy selects, with the
 * shell image, runs `script` and waits; returns what it printed before the END line.
 */
export async function controlPodOutput(stack: TestStack, script: string, name = 'control'): Promise<string> {
  const core = stack.ns.kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: stack.ns.name,
    body: {
      metadata: { name },
      spec: {
        tolerations: [{ key: 'ucloud.dk/real-node', operator: 'Exists', effect: 'NoSchedule' }],
        nodeSelector: { 'ucloud.dk/node-kind': 'real' },
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 11042 },
        containers: [{ name: 'c', image: IMAGES.shell, imagePullPolicy: 'Never', command: ['sh', '-c', thenWait(script)] }],
      },
    },
  });
  return eventually(
    async () => {
      const text = await core.readNamespacedPodLog({ name, namespace: stack.ns.name }).catch(() => '');
      return text.includes(`${END}\n`) ? text.slice(0, text.indexOf(END)) : undefined;
    },
    `the ${name} pod to finish`,
    90_000,
  );
}

/** What a failed wait should show: the job's state, each rank's pod status and log tail. */
export async function describeJob(stack: TestStack, id: string, replicas: number): Promise<string> {
  const name = jobResourceName(id);
  const core = stack.ns.kc.makeApiClient(CoreV1Api);
  const job = await stack.ns.kube.ucloudJobs.get(stack.ns.name, name).catch(() => undefined);
  const out = [`job ${id}: ${JSON.stringify(job?.status ?? null).slice(0, 600)}`];
  for (let r = 0; r < replicas; r++) {
    const pod = await core.readNamespacedPod({ name: podName(name, r), namespace: stack.ns.name }).catch(() => undefined);
    out.push(
      `rank ${r}: ${pod ? JSON.stringify({ phase: pod.status?.phase, node: pod.spec?.nodeName, conditions: pod.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''}`), containers: pod.status?.containerStatuses?.map((c) => c.state) }) : 'no pod'}`,
    );
    const log = await core
      .readNamespacedPodLog({ name: podName(name, r), namespace: stack.ns.name, container: 'user-job', tailLines: 10 })
      .catch((e: Error) => `(no log: ${e.message.slice(0, 200)})`);
    out.push(`rank ${r} log: ${log}`);
  }
  const events = await core.listNamespacedEvent({ namespace: stack.ns.name }).catch(() => undefined);
  for (const e of (events?.items ?? []).slice(-15)) out.push(`event ${e.involvedObject?.name}: ${e.reason} ${e.message}`);
  return out.join('\n');
}

/** The browser's terminal call on the test stack's adapter. */
export const SHELL_CALL = 'jobs.compute.example.shell.open';

/**
 * A running job that sleeps, a SHELL session on its rank 0 (UCloud/Core's interactiveSession) and
 * a browser's terminal socket, initialised with `cols` x `rows`: the terminal's output is stream `s`.
 */
export async function openRealTerminal(
  stack: TestStack,
  id: string,
  size: { cols: number; rows: number },
): Promise<{ job: RunningShellJob; term: FrameClient }> {
  const job = await runShellJob(stack, id, 'exec sleep 3600');
  await runningPods(stack, id, 1, 90_000);
  await crWhen(stack, id, (j) => j.status?.state === 'RUNNING', 'RUNNING');
  const opened = (await providerCall(stack, '/interactiveSession', {
    items: [{ job: { id, owner: { createdBy: 'user', project: null } }, rank: 0, sessionType: 'SHELL', target: null }],
  })) as { status: number; body: any };
  if (opened.status !== 200) throw new Error(`interactiveSession: ${opened.status} ${JSON.stringify(opened.body)}`);
  const term = await FrameClient.connect(`${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/example/websocket`);
  term.send({ call: SHELL_CALL, streamId: 's', payload: { type: 'initialize', sessionIdentifier: opened.body.responses[0].sessionIdentifier, ...size } });
  await term.waitFor((f) => f.streamId === 's' && f.payload?.type === 'initialize', 'initialize', 30_000);
  return { job, term };
}

/** `key value` lines a container printed, as a record (the value is the rest of the line). */
export function keyedLines(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}

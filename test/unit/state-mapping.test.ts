import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { mapPods, worstState, type FailureRule, type MappedPods, type RankStatus } from '../../src/controller/state-mapping.js';

const NOW = new Date('2026-03-01T12:00:00Z');

interface PodOpts {
  phase?: string;
  reason?: string;
  message?: string;
  nodeName?: string;
  deleting?: boolean;
  conditions?: V1PodCondition[];
  state?: V1ContainerStatus['state'];
  name?: string;
}

function pod(rank: number | string | undefined, o: PodOpts = {}): V1Pod {
  return {
    metadata: {
      name: o.name ?? `j-1-${rank}`,
      labels: rank === undefined ? {} : { 'ucloud.dk/rank': String(rank) },
      ...(o.deleting ? { deletionTimestamp: new Date('2026-03-01T11:59:00Z') } : {}),
    },
    spec: { containers: [{ name: 'user-job' }], ...(o.nodeName ? { nodeName: o.nodeName } : {}) },
    status: {
      ...(o.phase ? { phase: o.phase } : {}),
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.message ? { message: o.message } : {}),
      ...(o.conditions ? { conditions: o.conditions } : {}),
      ...(o.state ? { containerStatuses: [{ name: 'user-job', image: 'i', imageID: '', ready: false, restartCount: 0, state: o.state }] } : {}),
    },
  };
}

const waitingToSchedule = (r: number) => pod(r, { phase: 'Pending' });
const unschedulable = (r: number) =>
  pod(r, {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }],
  });
const waiting = (r: number, reason: string, message?: string) =>
  pod(r, { phase: 'Pending', nodeName: 'n1', state: { waiting: { reason, ...(message ? { message } : {}) } } });
const starting = (r: number) => pod(r, { phase: 'Pending', nodeName: 'n1' });
const running = (r: number, o: PodOpts = {}) => pod(r, { phase: 'Running', nodeName: 'n1', state: { running: { startedAt: NOW } }, ...o });
const terminated = (exitCode: number, reason = exitCode ? 'Error' : 'Completed', extra: object = {}) => ({
  terminated: { exitCode, reason, ...extra },
});
const succeeded = (r: number, o: PodOpts = {}) => pod(r, { phase: 'Succeeded', nodeName: 'n1', state: terminated(0), ...o });
const exited = (r: number, code: number) => pod(r, { phase: 'Failed', nodeName: 'n1', state: terminated(code) });
const oom = (r: number) => pod(r, { phase: 'Failed', nodeName: 'n1', state: terminated(137, 'OOMKilled') });
const evicted = (r: number) =>
  pod(r, { phase: 'Failed', nodeName: 'n1', reason: 'Evicted', message: 'The node was low on resource: memory. ', state: terminated(137) });
const disrupted = (r: number, reason: string, message: string, o: PodOpts = {}) =>
  pod(r, { phase: 'Failed', nodeName: 'n1', state: terminated(137), conditions: [{ type: 'DisruptionTarget', status: 'True', reason, message }], ...o });

type Row = [
  name: string,
  rules: FailureRule[],
  replicas: number,
  pods: V1Pod[],
  expected: Omit<MappedPods, 'perRank'> & { perRank?: RankStatus[] },
  missing?: Record<number, Date>,
];
const BOTH: FailureRule[] = ['exit-code', 'scheduler-only'];
const EXIT: FailureRule[] = ['exit-code'];
const SCHED: FailureRule[] = ['scheduler-only'];
const q = (message: string, runningRanks = 0) => ({ state: 'IN_QUEUE' as const, message, runningRanks, allRunning: false, finished: false });
const fail = (message: string, runningRanks = 0, finished = false) => ({ state: 'FAILURE' as const, message, runningRanks, allRunning: false, finished });

const rows: Row[] = [
  // --- waiting: IN_QUEUE until every rank runs -------------------------------------------------
  [
    'no pods yet',
    BOTH,
    2,
    [],
    {
      ...q('0/2 ranks running; ranks 0-1: no pod'),
      perRank: [
        { rank: 0, phase: 'Missing', reason: 'no pod' },
        { rank: 1, phase: 'Missing', reason: 'no pod' },
      ],
    },
  ],
  [
    'a rank waiting for the scheduler',
    BOTH,
    1,
    [waitingToSchedule(0)],
    { ...q('0/1 ranks running; rank 0: waiting to be scheduled'), perRank: [{ rank: 0, phase: 'Pending', reason: 'waiting to be scheduled' }] },
  ],
  [
    'unschedulable ranks, grouped',
    BOTH,
    8,
    [running(0), running(1), ...[2, 3, 4, 5, 6, 7].map(unschedulable)],
    q('2/8 ranks running; ranks 2-7: Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.', 2),
  ],
  ['a container being created', BOTH, 2, [running(0), waiting(1, 'ContainerCreating')], q('1/2 ranks running; rank 1: ContainerCreating', 1)],
  [
    'an image pull backing off',
    BOTH,
    1,
    [waiting(0, 'ImagePullBackOff', 'Back-off pulling image "acme/nope:1"')],
    {
      ...q('0/1 ranks running; rank 0: ImagePullBackOff: Back-off pulling image "acme/nope:1"'),
      perRank: [{ rank: 0, phase: 'Pending', reason: 'ImagePullBackOff: Back-off pulling image "acme/nope:1"' }],
    },
  ],
  ['an image pull error', BOTH, 1, [waiting(0, 'ErrImagePull', 'not found')], q('0/1 ranks running; rank 0: ErrImagePull: not found')],
  ['a scheduled pod without container status', BOTH, 1, [starting(0)], q('0/1 ranks running; rank 0: starting')],
  ['a rank missing while others run', BOTH, 3, [running(0), running(2)], q('2/3 ranks running; rank 1: no pod', 2)],
  ['a rank missing for a while', BOTH, 2, [running(0)], q('1/2 ranks running; rank 1: no pod for 42s', 1), { 1: new Date(NOW.getTime() - 42_500) }],
  [
    'a pod being deleted by someone else',
    BOTH,
    2,
    [running(0), running(1, { deleting: true })],
    {
      ...q('1/2 ranks running; rank 1: pod is being deleted', 1),
      perRank: [
        { rank: 0, phase: 'Running' },
        { rank: 1, phase: 'Missing', reason: 'pod is being deleted' },
      ],
    },
  ],
  [
    'a rank done before another started',
    BOTH,
    2,
    [succeeded(0), waiting(1, 'ContainerCreating')],
    q('0/2 ranks running; rank 0: exited with code 0; rank 1: ContainerCreating'),
  ],

  // --- running ---------------------------------------------------------------------------------
  [
    'every rank running',
    BOTH,
    3,
    [running(2), running(0), running(1)],
    { state: 'RUNNING', message: 'The job is running', runningRanks: 3, allRunning: true, finished: false },
  ],
  [
    'a finished rank among running ones',
    BOTH,
    2,
    [succeeded(0), running(1)],
    {
      state: 'RUNNING',
      message: 'The job is finishing: 1/2 ranks have ended (rank 0: exited with code 0); the others are still running',
      runningRanks: 1,
      allRunning: false,
      finished: false,
      perRank: [
        { rank: 0, phase: 'Succeeded', reason: 'exited with code 0', exitCode: 0 },
        { rank: 1, phase: 'Running' },
      ],
    },
  ],
  [
    'a non-zero exit among running ranks, legacy rule',
    SCHED,
    2,
    [running(0), exited(1, 3)],
    {
      state: 'RUNNING',
      message: 'The job is finishing: 1/2 ranks have ended (rank 1: exited with code 3); the others are still running',
      runningRanks: 1,
      allRunning: false,
      finished: false,
    },
  ],

  // --- success ---------------------------------------------------------------------------------
  [
    'every rank exited 0',
    BOTH,
    2,
    [succeeded(0), succeeded(1)],
    { state: 'SUCCESS', message: 'The job finished: all 2 ranks exited with code 0', runningRanks: 0, allRunning: false, finished: true },
  ],
  [
    'the only rank exited 0',
    BOTH,
    1,
    [succeeded(0)],
    { state: 'SUCCESS', message: 'The job finished: its rank exited with code 0', runningRanks: 0, allRunning: false, finished: true },
  ],
  [
    'a clean exit stands while the pod is deleted',
    BOTH,
    1,
    [succeeded(0, { deleting: true })],
    { state: 'SUCCESS', message: 'The job finished: its rank exited with code 0', runningRanks: 0, allRunning: false, finished: true },
  ],
  [
    'a non-zero exit, legacy rule',
    SCHED,
    2,
    [succeeded(0), exited(1, 3)],
    { state: 'SUCCESS', message: 'The job finished; rank 1 exited with code 3', runningRanks: 0, allRunning: false, finished: true },
  ],
  [
    'an OOM kill, legacy rule',
    SCHED,
    1,
    [oom(0)],
    { state: 'SUCCESS', message: 'The job finished; rank 0 was OOM killed', runningRanks: 0, allRunning: false, finished: true },
  ],

  // --- failure: the user's program (exit-code rule only) ---------------------------------------
  [
    'a non-zero exit',
    EXIT,
    2,
    [running(0), exited(1, 3)],
    {
      ...fail('The job failed: rank 1 exited with code 3', 1),
      perRank: [
        { rank: 0, phase: 'Running' },
        { rank: 1, phase: 'Failed', reason: 'exited with code 3', exitCode: 3 },
      ],
    },
  ],
  [
    'an OOM kill',
    EXIT,
    1,
    [oom(0)],
    { ...fail('The job failed: rank 0 was OOM killed', 0, true), perRank: [{ rank: 0, phase: 'Failed', reason: 'was OOM killed', exitCode: 137 }] },
  ],
  ['a kill by signal', EXIT, 1, [exited(0, 137)], fail('The job failed: rank 0 exited with code 137 (signal 9)', 0, true)],
  [
    'an init script that failed, in the words of its runner (the termination message)',
    EXIT,
    1,
    [pod(0, { phase: 'Failed', nodeName: 'n1', state: terminated(4, 'Error', { message: 'init-script: exited with code 4\n' }) })],
    fail('The job failed: rank 0 did not start its program: its init script exited with code 4', 0, true),
  ],
  [
    'an init script in an image without bash',
    EXIT,
    1,
    [pod(0, { phase: 'Failed', nodeName: 'n1', state: terminated(127, 'Error', { message: 'init-script: could not run: the image has no bash\n' }) })],
    fail('The job failed: rank 0 did not start its program: its init script could not run: the image has no bash', 0, true),
  ],
  ['a failure while another rank is missing', EXIT, 2, [exited(0, 1)], fail('The job failed: rank 0 exited with code 1')],
  [
    'many failures, listed up to five',
    EXIT,
    8,
    [0, 1, 2, 3, 4, 5, 6, 7].map((r) => exited(r, 2)),
    fail(
      'The job failed: rank 0 exited with code 2; rank 1 exited with code 2; rank 2 exited with code 2; rank 3 exited with code 2; rank 4 exited with code 2; and 3 more',
      0,
      true,
    ),
  ],

  // --- failure: the provider (both rules) ------------------------------------------------------
  [
    'an eviction',
    BOTH,
    3,
    [running(0), running(1), evicted(2)],
    {
      ...fail('The job failed: rank 2 was evicted: The node was low on resource: memory.', 2),
      perRank: [
        { rank: 0, phase: 'Running' },
        { rank: 1, phase: 'Running' },
        { rank: 2, phase: 'Failed', reason: 'was evicted: The node was low on resource: memory.', providerFault: true },
      ],
    },
  ],
  [
    'a lost node (NodeLost)',
    BOTH,
    2,
    [running(0, { reason: 'NodeLost', message: 'Node n1 which was running pod j-1-0 is unresponsive' }), running(1)],
    fail('The job failed: rank 0 was lost with its node: Node n1 which was running pod j-1-0 is unresponsive', 1),
  ],
  ['a pod in phase Unknown', BOTH, 1, [pod(0, { phase: 'Unknown' })], fail('The job failed: rank 0 was lost with its node (pod phase Unknown)', 0, true)],
  [
    'a preemption',
    BOTH,
    1,
    [disrupted(0, 'PreemptionByScheduler', 'ucloud-jobs/big-1: preempting to accommodate a higher priority pod')],
    {
      ...fail('The job failed: rank 0 was preempted by a higher-priority pod: ucloud-jobs/big-1: preempting to accommodate a higher priority pod', 0, true),
      perRank: [
        {
          rank: 0,
          phase: 'Failed',
          reason: 'was preempted by a higher-priority pod: ucloud-jobs/big-1: preempting to accommodate a higher priority pod',
          exitCode: 137,
          providerFault: true,
        },
      ],
    },
  ],
  [
    'a drain through the eviction API, pod still terminating',
    BOTH,
    1,
    [
      running(0, {
        deleting: true,
        conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' }],
      }),
    ],
    fail('The job failed: rank 0 was evicted: Eviction API: evicting', 0, true),
  ],
  [
    'a node taint removing the pod',
    BOTH,
    1,
    [
      running(0, {
        deleting: true,
        conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' }],
      }),
    ],
    fail('The job failed: rank 0 was lost with its node: Taint manager: deleting due to NoExecute taint', 0, true),
  ],
  [
    'a graceful node shutdown',
    BOTH,
    1,
    [pod(0, { phase: 'Failed', reason: 'Terminated', message: 'Pod was terminated in response to imminent node shutdown.', state: terminated(143) })],
    fail('The job failed: rank 0 was stopped because its node shut down: Pod was terminated in response to imminent node shutdown.', 0, true),
  ],
  [
    'a node refusing the pod at admission',
    BOTH,
    1,
    [pod(0, { phase: 'Failed', nodeName: 'n1', reason: 'OutOfcpu', message: "Pod Node didn't have enough resource: cpu" })],
    fail("The job failed: rank 0 was rejected by its node (OutOfcpu): Pod Node didn't have enough resource: cpu", 0, true),
  ],
  [
    'a container the runtime lost',
    BOTH,
    1,
    [
      pod(0, {
        phase: 'Failed',
        state: terminated(137, 'ContainerStatusUnknown', { message: 'The container could not be located when the pod was terminated' }),
      }),
    ],
    fail('The job failed: rank 0 was lost: its container could not be found: The container could not be located when the pod was terminated', 0, true),
  ],
  [
    'only provider faults count under the legacy rule',
    SCHED,
    2,
    [exited(0, 3), evicted(1)],
    fail('The job failed: rank 1 was evicted: The node was low on resource: memory.', 0, true),
  ],
];

describe('mapPods', () => {
  const cases = rows.flatMap(([name, rules, replicas, pods, expected, missing]) =>
    rules.map((rule) => [`${name} (${rule})`, rule, replicas, pods, expected, missing] as const),
  );
  it.each(cases)('%s', (_name, failureRule, replicas, pods, expected, firstSeenMissing) => {
    const got = mapPods({ replicas, pods, failureRule, now: NOW, ...(firstSeenMissing ? { firstSeenMissing } : {}) });
    const { perRank, ...rest } = got;
    const { perRank: expectedRanks, ...expectedRest } = expected;
    expect(rest).toEqual(expectedRest);
    if (expectedRanks) expect(perRank).toEqual(expectedRanks);
    expect(perRank.map((r) => r.rank)).toEqual(Array.from({ length: replicas }, (_, r) => r));
  });

  it('has at least twenty rows', () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it('ignores pods without a rank or beyond the replica count', () => {
    const got = mapPods({
      replicas: 1,
      pods: [running(0), pod(undefined, { phase: 'Failed' }), exited(1, 9), pod('x', { phase: 'Failed' })],
      failureRule: 'exit-code',
      now: NOW,
    });
    expect(got.state).toBe('RUNNING');
  });

  it('prefers a live pod over a terminating one of the same rank', () => {
    const old = running(0, { deleting: true, name: 'old' });
    for (const pods of [
      [old, running(0)],
      [running(0), old],
    ]) {
      expect(mapPods({ replicas: 1, pods, failureRule: 'exit-code', now: NOW }).perRank).toEqual([{ rank: 0, phase: 'Running' }]);
    }
  });

  describe('under the rank-end rule first (IM2: the first rank to end ends the job)', () => {
    const first = (pods: V1Pod[], failureRule: FailureRule = 'exit-code') => mapPods({ replicas: 2, pods, failureRule, rankEndRule: 'first', now: NOW });

    it('one rank exiting 0 while the other runs is SUCCESS, finished', () => {
      expect(first([succeeded(0), running(1)])).toMatchObject({
        state: 'SUCCESS',
        finished: true,
        message: 'The job finished when rank 0 exited with code 0; the other ranks were stopped',
      });
    });

    it('a failed rank is FAILURE, whichever rank it is; under scheduler-only a non-zero exit ends the job as SUCCESS', () => {
      expect(first([running(0), exited(1, 3)])).toMatchObject({ state: 'FAILURE', finished: true });
      expect(first([running(0), exited(1, 3)], 'scheduler-only')).toMatchObject({ state: 'SUCCESS', finished: true });
    });

    it('nothing ended: the same as under all', () => {
      expect(first([running(0), running(1)])).toMatchObject({ state: 'RUNNING', finished: false });
      expect(first([running(0), starting(1)])).toMatchObject({ state: 'IN_QUEUE', finished: false });
    });
  });

  it('keeps messages within the CR limit for a large gang', () => {
    const reason = 'x'.repeat(200);
    const pods = Array.from({ length: 1000 }, (_, r) => waiting(r, `Reason${r}`, reason));
    const got = mapPods({ replicas: 1000, pods, failureRule: 'exit-code', now: NOW });
    expect(got.state).toBe('IN_QUEUE');
    expect(got.message.length).toBeLessThanOrEqual(4000);
    expect(got.message.endsWith('…')).toBe(true);
  });
});

describe('worstState', () => {
  it.each([
    [['RUNNING', 'IN_QUEUE'], 'IN_QUEUE'],
    [['IN_QUEUE', 'SUCCESS'], 'SUCCESS'],
    [['SUCCESS', 'EXPIRED'], 'EXPIRED'],
    [['EXPIRED', 'FAILURE', 'RUNNING'], 'FAILURE'],
    [['RUNNING'], 'RUNNING'],
    [[], undefined],
  ] as const)('of %j is %s', (states, worst) => expect(worstState(states)).toBe(worst));
});

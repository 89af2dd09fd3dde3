// Waiting is a state, not a failure (docs/adr/0025): with a gang backend the planner keeps a job
// that has no room IN_QUEUE with the queue's text, sends that text to UCloud/Core only when it
// changes, holds a job back behind earlier waiting ones, counts the gang timeout from placement;
// the wait queue orders a category first come, first served; the PodGroup is a gang of all ranks.
import type { V1Pod } from '@kubernetes/client-node';
import { PodGroupSchema } from '../../../src/api/scheduling/pod-group.js';
import { type UCloudJob, type UCloudJobStatus } from '../../../src/api/v1alpha1/ucloudjob.js';
import { needsPodGroup, podGroupFor } from '../../../src/controller/desired/pod-group-builder.js';
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { planJob, type GangInput, type Plan } from '../../../src/controller/job-planner.js';
import { WaitQueue, aheadText, waitingText } from '../../../src/controller/wait-queue.js';
import { unitConfig } from '../../support/config.js';
import { job as baseJob } from '../../support/job-factory.js';

const CREATED = Date.parse('2026-03-01T12:00:00Z');
const at = (seconds: number) => new Date(CREATED + seconds * 1000);
const config = unitConfig({ jobs: { gangTimeoutSeconds: 300, imagePullGraceSeconds: 120, unschedulableGraceSeconds: 30 } });

function job(status?: UCloudJobStatus): UCloudJob {
  const j = baseJob({ replicas: 4, timeAllocationMillis: 3_600_000 });
  j.metadata.creationTimestamp = new Date(CREATED);
  j.metadata.generation = 1;
  if (status) j.status = status;
  return j;
}

/** A rank the scheduler could not place (PodScheduled=False, Unschedulable), created at 0. */
function unschedulable(rank: number): V1Pod {
  return {
    metadata: { name: `j-54112-${rank}`, labels: { 'ucloud.dk/rank': String(rank) }, creationTimestamp: at(0) },
    spec: { containers: [] },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/4 nodes are available: 4 Insufficient cpu.' }],
    },
  };
}

/** A rank bound to a node at `boundSec`, its container still being created. */
function bound(rank: number, boundSec: number): V1Pod {
  return {
    metadata: { name: `j-54112-${rank}`, labels: { 'ucloud.dk/rank': String(rank) }, creationTimestamp: at(0) },
    spec: { containers: [], nodeName: `node-${rank}` },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: at(boundSec) }],
      containerStatuses: [{ name: 'user-job', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }],
    },
  };
}

const gang = (over: Partial<GangInput> = {}): GangInput => ({ backend: 'native', held: false, ahead: 0, queued: false, ...over });
const all = <T>(f: (r: number) => T): T[] => [0, 1, 2, 3].map(f);

function step(j: UCloudJob, pods: V1Pod[], nowSec: number, g?: GangInput): { plan: Plan; job: UCloudJob } {
  const plan = planJob({ job: j, pods, now: at(nowSec), config, ...(g ? { gang: g } : {}) });
  return { plan, job: { ...j, status: plan.status } };
}

const said = (s: UCloudJobStatus) => (s.outbox?.entries ?? []).map((e) => e.status);

describe('waiting for room with a gang backend', () => {
  it('a gang the scheduler cannot place stays IN_QUEUE long past every grace and timeout, saying what it waits for', () => {
    const pods = all(unschedulable);
    const s = step(job(), pods, 3 * 3600, gang({ ahead: 2 }));
    expect(s.plan.status.state).toBe('IN_QUEUE');
    expect(s.plan.transitions).toEqual([]);
    expect(s.plan.status.message).toBe('Waiting for 4 × example-compute-1; 2 jobs ahead');
    expect(s.plan.placement).toEqual({ placed: false, blocked: true, waiting: true });
    // Nothing to look at again for: the queue brings it back when room frees.
    expect(s.plan.requeueAfterMs).toBeUndefined();
  });

  it('without a gang backend the same job fails after unschedulableGraceSeconds (before ADR 0025, kept for backend none)', () => {
    const s = step(job(), all(unschedulable), 31);
    expect(s.plan.status.state).toBe('FAILURE');
    expect(s.plan.status.message).toMatch(/could not be scheduled within 30s/);
    expect(step(job(), all(unschedulable), 31, gang({ backend: 'none' })).plan.status.state).toBe('FAILURE');
  });

  it('tells UCloud/Core the waiting text once per change, not once per reconcile', () => {
    let s = step(job(), all(unschedulable), 10, gang({ ahead: 3 }));
    s = step(s.job, all(unschedulable), 20, gang({ ahead: 3, queued: true }));
    s = step(s.job, all(unschedulable), 30, gang({ ahead: 3, queued: true }));
    expect(said(s.plan.status)).toEqual(['Waiting for 4 × example-compute-1; 3 jobs ahead']);
    expect(s.plan.statusChanged).toBe(false);
    // Acknowledged, then one job ahead leaves: one more update, with no state (it is still IN_QUEUE).
    s.job.status = { ...s.job.status, outbox: { ...s.job.status!.outbox!, acknowledgedSeq: 1 } };
    s = step(s.job, all(unschedulable), 40, gang({ ahead: 2, queued: true }));
    expect(s.plan.status.outbox?.entries.at(-1)).toEqual({ seq: 2, at: at(40).toISOString(), status: 'Waiting for 4 × example-compute-1; 2 jobs ahead' });
  });

  it('rewrites a text UCloud/Core has not acknowledged instead of queueing another (an outage cannot fill the outbox)', () => {
    let s = step(job(), all(unschedulable), 10, gang({ ahead: 60 }));
    for (let ahead = 59; ahead >= 0; ahead--) s = step(s.job, all(unschedulable), 70 - ahead, gang({ ahead, queued: true }));
    const entries = s.plan.status.outbox!.entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]!.status).toBe('Waiting for 4 × example-compute-1; no jobs ahead');
    // A new sequence number each time: an acknowledgement of the old text never covers the new one.
    expect(entries[0]!.seq).toBeGreaterThan(1);
  });

  it('a job held behind earlier waiting jobs creates nothing, not even its ConfigMap, Service and policy', () => {
    const s = step(job(), [], 5, gang({ held: true, ahead: 1 }));
    expect(s.plan.createRanks).toEqual([]);
    expect(s.plan.ensureSupporting).toBe(false);
    expect(s.plan.status.message).toBe('Waiting for 4 × example-compute-1; 1 job ahead');
    expect(s.plan.placement?.waiting).toBe(true);
    // Its turn: everything is created at once.
    const turn = step(s.job, [], 6, gang({ ahead: 0, queued: true }));
    expect(turn.plan.createRanks).toEqual([0, 1, 2, 3]);
    expect(turn.plan.ensureSupporting).toBe(true);
  });

  it("counts the gang timeout from the moment the whole gang had its nodes, not from the job's creation", () => {
    // Waited an hour, then placed at 3600 s: not failed at 3600 + 299 s, failed at 3600 + 300 s.
    const pods = all((r) => bound(r, 3600));
    let s = step(job(), pods, 3600 + 299, gang({ queued: true }));
    expect(s.plan.status.state).toBe('IN_QUEUE');
    expect(s.plan.placement).toEqual({ placed: true, blocked: false, waiting: false });
    expect(s.plan.requeueAfterMs).toBe(1000);
    s = step(s.job, pods, 3600 + 300, gang());
    expect(s.plan.status.state).toBe('FAILURE');
    expect(s.plan.status.message).toMatch(/within 300s of being placed/);
  });

  it('gives an image its pull grace from when the pod got its node, not from its creation', () => {
    const pulling = (r: number): V1Pod => {
      const p = bound(r, 1000);
      p.status!.containerStatuses![0]!.state = { waiting: { reason: 'ImagePullBackOff', message: 'not found' } };
      return p;
    };
    expect(step(job(), all(pulling), 1000 + 119, gang()).plan.status.state).toBe('IN_QUEUE');
    const s = step(job(), all(pulling), 1000 + 120, gang());
    expect(s.plan.status.state).toBe('FAILURE');
    expect(s.plan.status.message).toMatch(/could not be pulled/);
  });

  it('charges nothing and sets no deadline while the job waits: startedAt and expiresAt stay unset', () => {
    const s = step(job(), all(unschedulable), 7200, gang({ ahead: 1 }));
    expect(s.plan.status.startedAt).toBeUndefined();
    expect(s.plan.status.expiresAt).toBeUndefined();
  });
});

describe('the wait queue', () => {
  it('orders a category by creation time (the name breaking ties), categories apart', () => {
    const q = new WaitQueue();
    q.add({ key: 'ns/j-3', category: 'c', createdAt: 30 });
    q.add({ key: 'ns/j-1', category: 'c', createdAt: 10 });
    q.add({ key: 'ns/j-2b', category: 'c', createdAt: 20 });
    q.add({ key: 'ns/j-2a', category: 'c', createdAt: 20 });
    q.add({ key: 'ns/x-1', category: 'other', createdAt: 0 });
    expect(q.first('c')).toBe('ns/j-1');
    expect(q.ahead({ key: 'ns/j-3', category: 'c', createdAt: 30 })).toBe(3);
    expect(q.ahead({ key: 'ns/j-2b', category: 'c', createdAt: 20 })).toBe(2);
    expect(q.ahead({ key: 'ns/new', category: 'c', createdAt: 25 })).toBe(3);
    expect(q.ahead({ key: 'ns/x-2', category: 'other', createdAt: 5 })).toBe(1);
    expect(q.remove('ns/j-1')).toBe('c');
    expect(q.first('c')).toBe('ns/j-2a');
    expect(q.remove('ns/j-1')).toBeUndefined();
    expect(q.size('c')).toBe(3);
  });

  it('says the position exactly up to 10, then in tens, then in hundreds (fewer updates for a long queue)', () => {
    expect([0, 1, 2, 10, 11, 19, 20, 99, 100, 250].map(aheadText)).toEqual([
      'no jobs ahead',
      '1 job ahead',
      '2 jobs ahead',
      '10 jobs ahead',
      '10+ jobs ahead',
      '10+ jobs ahead',
      '20+ jobs ahead',
      '90+ jobs ahead',
      '100+ jobs ahead',
      '200+ jobs ahead',
    ]);
    expect(waitingText(4, 'u1-standard-8', 2)).toBe('Waiting for 4 × u1-standard-8; 2 jobs ahead');
  });
});

describe('the PodGroup of a multi-rank job', () => {
  it('is a gang of every rank, named as the job, owned by it; the pods name it in spec.schedulingGroup', () => {
    const j = job();
    const pg = PodGroupSchema.parse(podGroupFor(j, config));
    expect(pg.spec.schedulingPolicy).toEqual({ gang: { minCount: 4 } });
    expect(pg.metadata.name).toBe(j.metadata.name);
    expect(pg.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'UCloudJob', uid: j.metadata.uid, controller: true })]);
    expect(buildPod(j, 2, config, { podGroup: pg.metadata.name }).spec?.schedulingGroup).toEqual({ podGroupName: j.metadata.name });
    expect(buildPod(j, 2, config).spec?.schedulingGroup).toBeUndefined();
  });

  it('is not made for a one-rank job (one pod is placed all or nothing already)', () => {
    const one = baseJob({ replicas: 1 });
    expect(needsPodGroup(one)).toBe(false);
    expect(needsPodGroup(job())).toBe(true);
  });
});

describe('a job accepted before its nodes went away', () => {
  it('keeps waiting, IM2 queues such a job, with a text that says no node can hold it now instead of counting jobs ahead', () => {
    const why =
      'product example-compute-1 can never run 4 ranks at once here: the 2 nodes of category example-compute hold at most 2 of its ranks together, even when empty';
    const s = step(job(), all(unschedulable), 3600, gang({ ahead: 0, neverFits: why }));
    expect(s.plan.status.state).toBe('IN_QUEUE');
    expect(s.plan.teardown).toBe(false);
    expect(s.plan.status.message).toBe(`Waiting for 4 × example-compute-1; ${why}`);
    expect(s.plan.status.outbox?.entries.at(-1)?.status).toBe(`Waiting for 4 × example-compute-1; ${why}`);
  });
});

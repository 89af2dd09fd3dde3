// The reconciler's rules, as the pure planner decides them: start, gang timeout, worst rank,
// expiry, extend, terminate, insufficient funds, stuck and vanished pods, and idempotence.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { UCloudJobSchema, type UCloudJob, type UCloudJobSpec, type UCloudJobStatus } from '../../../src/api/v1alpha1/ucloudjob.js';
import { UNKNOWN_TO_CORE_MESSAGE, planJob, ranksEndedAt, type Plan } from '../../../src/controller/job-planner.js';
import { unitConfig } from '../../support/config.js';
import { job as baseJob } from '../../support/job-factory.js';

const CREATED = Date.parse('2026-03-01T12:00:00Z');
const at = (seconds: number) => new Date(CREATED + seconds * 1000);
// The rank-end rule `all` (a job runs until every rank ends); `first`, the default, has its own block below.
const config = unitConfig({
  jobs: { gangTimeoutSeconds: 300, imagePullGraceSeconds: 120, unschedulableGraceSeconds: 300, vanishedPodGraceSeconds: 30, rankEndRule: 'all' },
});
const firstConfig = unitConfig({ jobs: { gangTimeoutSeconds: 300, vanishedPodGraceSeconds: 30 } });

function job(spec: Partial<UCloudJobSpec> = {}, status?: UCloudJobStatus): UCloudJob {
  const j = baseJob({ replicas: 3, timeAllocationMillis: 3_600_000, ...spec });
  j.metadata.creationTimestamp = new Date(CREATED);
  j.metadata.generation = 1;
  if (status) j.status = status;
  return j;
}

function pod(rank: number, phase: string, state?: V1ContainerStatus['state'], createdAt = 0): V1Pod {
  return {
    metadata: { name: `j-54112-${rank}`, labels: { 'ucloud.dk/rank': String(rank) }, creationTimestamp: at(createdAt) },
    spec: { containers: [{ name: 'user-job' }], nodeName: 'kwok-node-0' },
    status: {
      phase,
      ...(state ? { containerStatuses: [{ name: 'user-job', image: 'i', imageID: '', ready: phase === 'Running', restartCount: 0, state }] } : {}),
    },
  };
}
const running = (rank: number, startedSec: number) => pod(rank, 'Running', { running: { startedAt: at(startedSec) } });
const exited = (rank: number, code: number, startedSec: number, finishedSec: number) =>
  pod(rank, code === 0 ? 'Succeeded' : 'Failed', {
    terminated: { exitCode: code, reason: code ? 'Error' : 'Completed', startedAt: at(startedSec), finishedAt: at(finishedSec) },
  });

/** Plans, then stores the status as the reconciler would, returning both. */
function step(j: UCloudJob, pods: V1Pod[], nowSec: number, firstMissingAt?: Map<number, number>, cfg = config): { plan: Plan; job: UCloudJob } {
  const plan = planJob({ job: j, pods, now: at(nowSec), config: cfg, ...(firstMissingAt ? { firstMissingAt } : {}) });
  return { plan, job: { ...j, status: plan.status } };
}

const outboxStates = (s: UCloudJobStatus) => (s.outbox?.entries ?? []).map((e) => e.state ?? `newTimeAllocation=${e.newTimeAllocation}`);

describe('planJob', () => {
  it('a new job: create every rank, stay IN_QUEUE, look again at the gang deadline', () => {
    const { plan } = step(job(), [], 1);
    expect(plan.createRanks).toEqual([0, 1, 2]);
    expect(plan.ensureSupporting).toBe(true);
    expect(plan.teardown).toBe(false);
    expect(plan.status.state).toBe('IN_QUEUE');
    expect(plan.transitions).toEqual([]);
    expect(plan.requeueAfterMs).toBe(299_000);
  });

  it('stays IN_QUEUE until every rank runs (all-or-nothing start), then RUNNING from the last start', () => {
    let s = step(job(), [running(0, 5), running(1, 6)], 7);
    expect(s.plan.status.state).toBe('IN_QUEUE');
    expect(s.plan.createRanks).toEqual([2]);
    expect(s.plan.status.ranks).toBe('2/3');

    s = step(s.job, [running(0, 5), running(1, 6), running(2, 9)], 10);
    expect(s.plan.transitions).toEqual([{ from: 'IN_QUEUE', to: 'RUNNING', message: 'The job is running' }]);
    expect(s.plan.status.startedAt).toBe(at(9).toISOString());
    expect(s.plan.status.expiresAt).toBe(at(9 + 3600).toISOString());
    expect(s.plan.status.outbox?.entries).toEqual([{ seq: 1, at: at(9).toISOString(), state: 'RUNNING', status: 'The job is running' }]);
    expect(s.plan.requeueAfterMs).toBe(3599_000);
  });

  it('is idempotent: planning the stored result again changes nothing and reports nothing', () => {
    const pods = [running(0, 5), running(1, 6), running(2, 9)];
    const first = step(job(), pods, 10);
    const again = step(first.job, pods, 10);
    expect(again.plan.statusChanged).toBe(false);
    expect(again.plan.transitions).toEqual([]);
    expect(again.plan.createRanks).toEqual([]);
    expect(again.plan.status.outbox).toEqual(first.plan.status.outbox);
  });

  it("is idempotent on what the reconciler reads back: the status in the schema's key order", () => {
    const pods = [running(0, 5), running(1, 6), running(2, 9)];
    const first = step(job(), pods, 10);
    // The reconciler parses the cached object, which puts every key in schema order.
    const stored = UCloudJobSchema.parse(JSON.parse(JSON.stringify(first.job)));
    expect(JSON.stringify(stored.status)).not.toBe(JSON.stringify(first.plan.status));
    expect(step(stored, pods, 11).plan.statusChanged).toBe(false);
  });

  it('reports the job folder as outputFolder with RUNNING when the work volume is visible in UCloud', () => {
    const pods = [running(0, 5), running(1, 6), running(2, 9)];
    const visible = unitConfig({ jobs: { workVolume: { type: 'pvc', claimName: 'work', subPathPrefix: 'jobs', ucloudPath: '/provider-work/jobs/' } } });
    const plan = planJob({ job: job(), pods, now: at(10), config: visible });
    expect(plan.status.outbox?.entries).toEqual([
      { seq: 1, at: at(9).toISOString(), state: 'RUNNING', status: 'The job is running', outputFolder: '/provider-work/jobs/54112' },
    ]);
    // An emptyDir /work is gone with the job: there is no folder to report.
    expect(step(job(), pods, 10).plan.status.outbox?.entries?.[0]?.outputFolder).toBeUndefined();
  });

  it("reports a job folder's UCloud path as outputFolder with RUNNING, and nothing for a folder UCloud cannot name", () => {
    const pods = [running(0, 5), running(1, 6), running(2, 9)];
    const folder = { claimName: 'home', subPath: 'home/user/Jobs/App/54112', ucloudPath: '/home-user/Jobs/App/54112' };
    const entries = planJob({ job: job({ jobFolder: folder }), pods, now: at(10), config: unitConfig() }).status.outbox?.entries;
    expect(entries).toEqual([{ seq: 1, at: at(9).toISOString(), state: 'RUNNING', status: 'The job is running', outputFolder: '/home-user/Jobs/App/54112' }]);
    const { ucloudPath: _, ...unnamed } = folder;
    expect(planJob({ job: job({ jobFolder: unnamed }), pods, now: at(10), config: unitConfig() }).status.outbox?.entries?.[0]).not.toHaveProperty(
      'outputFolder',
    );
  });

  it('worst rank wins: one failed rank fails the job and tears down the others', () => {
    const started = step(job(), [running(0, 5), running(1, 5), running(2, 5)], 6).job;
    const { plan } = step(started, [running(0, 5), exited(1, 3, 5, 20), running(2, 5)], 21);
    expect(plan.status.state).toBe('FAILURE');
    expect(plan.status.message).toMatch(/rank 1/);
    expect(plan.status.message).toMatch(/3/);
    expect(plan.teardown).toBe(true);
    expect(outboxStates(plan.status)).toEqual(['RUNNING', 'FAILURE']);
  });

  it('every rank exiting 0 is SUCCESS, finished when the last rank ended', () => {
    const started = step(job(), [running(0, 5), running(1, 5), running(2, 5)], 6).job;
    const { plan } = step(started, [exited(0, 0, 5, 30), exited(1, 0, 5, 40), exited(2, 0, 5, 35)], 45);
    expect(plan.status.state).toBe('SUCCESS');
    expect(plan.status.finishedAt).toBe(at(40).toISOString());
  });

  it('a job that ran and ended between two looks still reports RUNNING before SUCCESS', () => {
    const { plan } = step(job({ replicas: 1 }), [exited(0, 0, 5, 8)], 10);
    expect(plan.transitions.map((t) => t.to)).toEqual(['RUNNING', 'SUCCESS']);
    expect(outboxStates(plan.status)).toEqual(['RUNNING', 'SUCCESS']);
    expect(plan.status.startedAt).toBe(at(5).toISOString());
  });

  it('expires at startedAt + timeAllocation: EXPIRED, finished at the deadline, pods removed', () => {
    const started = step(job({ timeAllocationMillis: 60_000 }), [running(0, 5), running(1, 5), running(2, 5)], 6).job;
    const before = step(started, [running(0, 5), running(1, 5), running(2, 5)], 64);
    expect(before.plan.status.state).toBe('RUNNING');
    expect(before.plan.requeueAfterMs).toBe(1000);
    const { plan } = step(started, [running(0, 5), running(1, 5), running(2, 5)], 66);
    expect(plan.status.state).toBe('EXPIRED');
    expect(plan.status.finishedAt).toBe(at(65).toISOString());
    expect(plan.teardown).toBe(true);
  });

  it('extend moves the deadline and queues newTimeAllocation for UCloud/Core', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = step(job({ timeAllocationMillis: 60_000 }), pods, 6).job;
    const extended = { ...started, spec: { ...started.spec, timeAllocationMillis: 120_000 } };
    const { plan, job: stored } = step(extended, pods, 30);
    expect(plan.status.expiresAt).toBe(at(125).toISOString());
    expect(outboxStates(plan.status)).toEqual(['RUNNING', 'newTimeAllocation=120000']);
    // Past the old deadline, before the new one: still running. Reported once only.
    const later = step(stored, pods, 100);
    expect(later.plan.status.state).toBe('RUNNING');
    expect(outboxStates(later.plan.status)).toEqual(['RUNNING', 'newTimeAllocation=120000']);
    expect(step(stored, pods, 126).plan.status.state).toBe('EXPIRED');
  });

  it('terminate: SUCCESS "Job was terminated by the user", finished when it was asked', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = step(job(), pods, 6).job;
    const terminated = { ...started, spec: { ...started.spec, terminationRequestedAt: at(50).toISOString() } };
    const { plan } = step(terminated, pods, 51);
    expect(plan.status).toMatchObject({ state: 'SUCCESS', message: 'Job was terminated by the user', finishedAt: at(50).toISOString() });
    expect(plan.teardown).toBe(true);
  });

  describe('after an outage of the operator, the earliest ending is what happened', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = () => step(job({ timeAllocationMillis: 60_000 }), pods, 6).job;

    it('expired, then terminated by the user: EXPIRED at the deadline, not SUCCESS at the request', () => {
      const j = started();
      const later = { ...j, spec: { ...j.spec, terminationRequestedAt: at(200).toISOString() } };
      const { plan } = step(later, pods, 300);
      expect(plan.status).toMatchObject({ state: 'EXPIRED', finishedAt: at(65).toISOString() });
    });

    it('every rank exited, then the deadline passed and the user pressed stop: SUCCESS when they exited', () => {
      const j = started();
      const done = [exited(0, 0, 5, 40), exited(1, 0, 5, 41), exited(2, 0, 5, 42)];
      const later = { ...j, spec: { ...j.spec, terminationRequestedAt: at(200).toISOString() } };
      const { plan } = step(later, done, 300);
      expect(plan.status).toMatchObject({ state: 'SUCCESS', message: 'The job finished: all 3 ranks exited with code 0', finishedAt: at(42).toISOString() });
    });

    it("terminated while running, then a rank failed: the user's stop stands", () => {
      const j = started();
      const later = { ...j, spec: { ...j.spec, terminationRequestedAt: at(20).toISOString() } };
      const { plan } = step(later, [running(0, 5), exited(1, 3, 5, 30), running(2, 5)], 40);
      expect(plan.status).toMatchObject({ state: 'SUCCESS', message: 'Job was terminated by the user', finishedAt: at(20).toISOString() });
    });

    it('ranks exited before Core said the credits ran out: SUCCESS when they exited', () => {
      const j = started();
      const broke = { ...j, status: { ...j.status, insufficientFunds: true } };
      const { plan } = step(broke, [exited(0, 0, 5, 30), exited(1, 0, 5, 31), exited(2, 0, 5, 32)], 50);
      expect(plan.status).toMatchObject({ state: 'SUCCESS', finishedAt: at(32).toISOString() });
      expect(plan.status.message).toBe('The job finished: all 3 ranks exited with code 0');
    });
  });

  it("ranksEndedAt: the last rank's finish once every rank has ended, else nothing (what accounting caps at)", () => {
    const j = job();
    expect(ranksEndedAt(j, [exited(0, 0, 5, 40), running(1, 5), exited(2, 0, 5, 42)], config, at(100))).toBeUndefined();
    expect(ranksEndedAt(j, [exited(0, 0, 5, 40), exited(2, 0, 5, 42)], config, at(100))).toBeUndefined();
    expect(ranksEndedAt(j, [exited(0, 0, 5, 40), exited(1, 3, 5, 41), exited(2, 0, 5, 42)], config, at(100))).toBe(at(42).getTime());
    // It is the finishedAt the planner records for the same pods.
    const started = step(j, [running(0, 5), running(1, 5), running(2, 5)], 6).job;
    expect(step(started, [exited(0, 0, 5, 40), exited(1, 0, 5, 41), exited(2, 0, 5, 42)], 100).plan.status.finishedAt).toBe(at(42).toISOString());
  });

  it("an SSH job tells its address in IM2's words once it runs, as a status-only update after RUNNING", () => {
    const sshConfig = unitConfig({ interactive: { ssh: { enabled: true, host: 'ssh.example.org' } } });
    const j = job({ replicas: 1, sshEnabled: true, sshPort: 30123 });
    const queued = step(j, [], 1, undefined, sshConfig);
    expect(queued.plan.status.outbox).toBeUndefined();
    const { plan } = step(queued.job, [running(0, 5)], 6, undefined, sshConfig);
    expect(plan.status.outbox?.entries.map(({ state, status }) => ({ state, status }))).toEqual([
      { state: 'RUNNING', status: 'The job is running' },
      { state: undefined, status: 'SSH: Connected! Available at: ssh ucloud@ssh.example.org -p 30123' },
    ]);
    // Said once: the next look adds nothing.
    expect(step({ ...queued.job, status: plan.status }, [running(0, 5)], 20, undefined, sshConfig).plan.status.outbox?.entries).toHaveLength(2);
  });

  describe('under the rank-end rule first (IM2, the default)', () => {
    const startedFirst = () => step(job({ replicas: 2 }), [running(0, 5), running(1, 5)], 6, undefined, firstConfig).job;

    it('is the default', () => expect(unitConfig().jobs.rankEndRule).toBe('first'));

    it("rank 0 exiting 0 while rank 1 still runs ends the job: SUCCESS at rank 0's end, every pod torn down", () => {
      const { plan } = step(startedFirst(), [exited(0, 0, 5, 30), running(1, 5)], 33, undefined, firstConfig);
      expect(plan.status).toMatchObject({
        state: 'SUCCESS',
        finishedAt: at(30).toISOString(),
        message: 'The job finished when rank 0 exited with code 0; the other ranks were stopped',
      });
      expect(plan.teardown).toBe(true);
      expect(plan.transitions.map((t) => t.to)).toEqual(['SUCCESS']);
    });

    it('under all the same pods keep the job running', () => {
      const j = step(job({ replicas: 2 }), [running(0, 5), running(1, 5)], 6).job;
      const { plan } = step(j, [exited(0, 0, 5, 30), running(1, 5)], 33);
      expect(plan.status.state).toBe('RUNNING');
      expect(plan.teardown).toBe(false);
    });

    it('the first rank to end decides, whichever rank it is; a failure among the ended ranks makes it FAILURE', () => {
      expect(step(startedFirst(), [running(0, 5), exited(1, 0, 5, 20)], 25, undefined, firstConfig).plan.status).toMatchObject({
        state: 'SUCCESS',
        finishedAt: at(20).toISOString(),
      });
      expect(step(startedFirst(), [exited(0, 0, 5, 20), exited(1, 3, 5, 22)], 25, undefined, firstConfig).plan.status).toMatchObject({
        state: 'FAILURE',
        finishedAt: at(20).toISOString(),
      });
    });

    it("ranksEndedAt is the first rank's end, the finishedAt the planner records (what accounting caps at)", () => {
      const j = job({ replicas: 2 });
      expect(ranksEndedAt(j, [running(0, 5), running(1, 5)], firstConfig, at(100))).toBeUndefined();
      expect(ranksEndedAt(j, [exited(0, 0, 5, 40), running(1, 5)], firstConfig, at(100))).toBe(at(40).getTime());
      expect(ranksEndedAt(j, [exited(0, 0, 5, 40), running(1, 5)], config, at(100))).toBeUndefined();
    });
  });

  it('insufficient funds: SUCCESS "terminated (no credits)" at once', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = step(job(), pods, 6).job;
    const broke = { ...started, status: { ...started.status, insufficientFunds: true } };
    const { plan } = step(broke, pods, 70);
    expect(plan.status).toMatchObject({ state: 'SUCCESS', message: 'terminated (no credits)' });
    expect(plan.status.conditions?.find((c) => c.type === 'Finished')?.reason).toBe('InsufficientFunds');
    expect(plan.teardown).toBe(true);
  });

  it('asks for the credit check before the first pod only, and only where the site wants it', () => {
    const checking = unitConfig({ ...config, accounting: { ...config.accounting, checkCreditsBeforeStart: true } });
    expect(step(job(), [], 1, undefined, checking).plan.checkCreditsFirst).toBe(true);
    expect(step(job(), [], 1).plan.checkCreditsFirst).toBe(false);
    // A job with a pod has been judged already; one found broke is not asked again.
    expect(step(job(), [running(0, 5)], 6, undefined, checking).plan.checkCreditsFirst).toBe(false);
    const broke = job();
    expect(step({ ...broke, status: { ...broke.status, insufficientFunds: true } }, [], 1, undefined, checking).plan.checkCreditsFirst).toBe(false);
  });

  it("the Finished reason is the ending's, kept on later looks whatever the message says", () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = step(job(), pods, 6).job;
    const ended = step({ ...started, status: { ...started.status, insufficientFunds: true } }, pods, 70).job;
    // Someone rewrote the message (an older operator, an edit): the reason does not follow the text.
    const edited = { ...ended, status: { ...ended.status, message: 'Job was terminated by the user' } };
    const finished = (j: typeof ended) => step(j, [], 90).plan.status.conditions?.find((c) => c.type === 'Finished');
    expect(finished(edited)).toMatchObject({ status: 'True', reason: 'InsufficientFunds' });
    const user = step({ ...started, spec: { ...started.spec, terminationRequestedAt: at(50).toISOString() } }, pods, 70).plan;
    expect(user.status.conditions?.find((c) => c.type === 'Finished')?.reason).toBe('Terminated');
  });

  it('unknown to Core: FAILURE at once, torn down, KnownToCore=False, and the Reported condition left to the reporter', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = step(job(), pods, 6).job;
    const mark = { at: at(60).toISOString(), call: 'update', why: 'Not found or permission denied (54112)' };
    const { plan, job: after } = step({ ...started, status: { ...started.status, unknownToCore: mark } }, pods, 70);
    expect(plan.status).toMatchObject({ state: 'FAILURE', message: UNKNOWN_TO_CORE_MESSAGE, finishedAt: at(60).toISOString() });
    expect(plan.teardown).toBe(true);
    const cond = (t: string) => plan.status.conditions?.find((c) => c.type === t);
    expect(cond('Finished')?.reason).toBe('UnknownToCore');
    expect(cond('KnownToCore')).toMatchObject({
      status: 'False',
      reason: 'UnknownToCore',
      message: expect.stringContaining('Not found or permission denied (54112)'),
    });
    expect(cond('Reported')).toBeUndefined(); // the reporter's condition (reporter.test.ts)
    // Idempotent: the next reconcile decides nothing new.
    expect(step(after, [], 80).plan.statusChanged).toBe(false);
  });

  it('gang timeout: not every rank running in time is FAILURE with the reason', () => {
    const { plan } = step(job(), [running(0, 5), running(1, 6), pod(2, 'Pending')], 300);
    expect(plan.status.state).toBe('FAILURE');
    expect(plan.status.message).toMatch(/^Not all ranks were running within 300s \(2\/3 running\)/);
    expect(plan.teardown).toBe(true);
  });

  it('an image that cannot be pulled fails the job after the grace period, with the reason', () => {
    const pulling = pod(0, 'Pending', { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "acme/nope"' } });
    expect(step(job({ replicas: 1 }), [pulling], 100).plan.status.state).toBe('IN_QUEUE');
    const { plan } = step(job({ replicas: 1 }), [pulling], 121);
    expect(plan.status.state).toBe('FAILURE');
    expect(plan.status.message).toBe('The image of rank 0 could not be pulled (ImagePullBackOff): Back-off pulling image "acme/nope"');
  });

  it('a pod that vanished while running fails the job after the grace period, not before', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const started = step(job(), pods, 6).job;
    const missing = new Map([[1, at(100).getTime()]]);
    const early = step(started, [running(0, 5), running(2, 5)], 110, missing);
    expect(early.plan.status.state).toBe('RUNNING');
    expect(early.plan.missingRanks).toEqual([1]);
    expect(early.plan.createRanks).toEqual([]); // a started job never gets a replacement rank
    const { plan } = step(started, [running(0, 5), running(2, 5)], 131, missing);
    expect(plan.status.state).toBe('FAILURE');
    expect(plan.status.message).toBe('The pod of rank 1 disappeared while the job was running');
  });

  it('a final job only tears down: no transitions, no new reports, no pods', () => {
    const pods = [running(0, 5), running(1, 5), running(2, 5)];
    const ended = step({ ...job(), spec: { ...job().spec, terminationRequestedAt: at(7).toISOString() } }, pods, 8).job;
    const { plan } = step(ended, pods, 200);
    expect(plan.transitions).toEqual([]);
    expect(plan.createRanks).toEqual([]);
    expect(plan.teardown).toBe(true);
    expect(outboxStates(plan.status)).toEqual(outboxStates(ended.status!));
  });

  it('keeps only the last few acknowledged outbox entries, and every unacknowledged one', () => {
    const entries = Array.from({ length: 6 }, (_, i) => ({ seq: i + 1, at: at(i).toISOString(), status: `u${i + 1}` }));
    const { plan } = step(job(), [], 1.5);
    const j = { ...job(), status: { ...plan.status, outbox: { acknowledgedSeq: 5, entries } } };
    const pruned = step(j, [], 2).plan.status.outbox!;
    expect(pruned.acknowledgedSeq).toBe(5);
    expect(pruned.entries.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
  });
});

// FollowSession against a fake LogSource (PassThrough streams the test writes) and the in-memory
// FakeKube: rank ordering, reconnect without duplicates, abort of every stream, and back-pressure
// (a client that does not read pauses the log streams; memory stays bounded).
import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { UCloudJobSchema, type UCloudJob } from '../../../../src/api/v1alpha1/ucloudjob.js';
import { ensureLogReader } from '../../../../src/adapter/follow/log-reader.js';
import type { LogSource, LogStreamRequest } from '../../../../src/adapter/follow/log-source.js';
import type { FollowResponse } from '../../../../src/adapter/follow/protocol.js';
import { SendGate, type GateSocket } from '../../../../src/adapter/follow/send-gate.js';
import { FollowSession, type EndReason } from '../../../../src/adapter/follow/session.js';
import { JobStore } from '../../../../src/adapter/job-store.js';
import { rootLogger } from '../../../../src/observability/log.js';
import { eventually } from '../../../support/harness.js';
import { unitConfig } from '../../../support/config.js';
import { FakeKube } from '../../../support/fake-kube.js';
import { job as ucloudJob } from '../../../support/job-factory.js';

const NS = 'ucloud-jobs';

class FakeLogs implements LogSource {
  readonly opened: Array<{ req: LogStreamRequest; stream: PassThrough }> = [];
  async open(req: LogStreamRequest) {
    const stream = new PassThrough();
    req.signal.addEventListener('abort', () => stream.destroy());
    this.opened.push({ req, stream });
    return stream;
  }
  of(pod: string) {
    return this.opened.filter((o) => o.req.pod === pod);
  }
  get live() {
    return this.opened.filter((o) => !o.stream.destroyed).length;
  }
}

/** A socket whose buffer only drains when the test says so. */
class SlowSocket implements GateSocket {
  bufferedAmount = 0;
  readyState = 1;
  maxBuffered = 0;
  readonly frames: string[] = [];
  private pending: Array<{ size: number; cb?: () => void }> = [];
  send(data: string, cb?: () => void) {
    this.frames.push(data);
    this.bufferedAmount += data.length;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    this.pending.push({ size: data.length, cb });
  }
  drain() {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      this.bufferedAmount -= p.size;
      p.cb?.();
    }
  }
}

function setup(replicas = 2) {
  const kube = new FakeKube();
  const job = ucloudJob({ jobId: '9', replicas }, 'uid-9', NS);
  kube.seed('UCloudJob', job);
  for (let r = 0; r < replicas; r++) kube.seed('Pod', { metadata: { name: `j-9-${r}`, namespace: NS }, status: { phase: 'Running' } });
  const logs = new FakeLogs();
  const socket = new SlowSocket();
  const gate = new SendGate(socket, 1000, 100);
  const messages: FollowResponse[] = [];
  const ended: EndReason[] = [];
  const session = new FollowSession(job, gate, { kube, jobs: new JobStore(kube, NS), namespace: NS, logs, logger: rootLogger, pollMs: 10 }, (r) =>
    ended.push(r),
  );
  session.onMessage = (p) => {
    messages.push(p);
    gate.send(JSON.stringify(p));
  };
  return { kube, logs, socket, gate, session, messages, ended };
}

const textOf = (messages: FollowResponse[], rank: number) =>
  messages
    .filter((m) => m.rank === rank)
    .map((m) => m.stdout)
    .join('');

describe('FollowSession', () => {
  it('forwards every rank in order, as stdout, under the session id', async () => {
    const { logs, session, messages, socket } = setup();
    session.start();
    await eventually(() => logs.opened.length === 2, 'both ranks opened');
    expect(logs.opened.map((o) => [o.req.pod, o.req.container, o.req.sinceTime])).toEqual(
      expect.arrayContaining([
        ['j-9-0', 'user-job', undefined],
        ['j-9-1', 'user-job', undefined],
      ]),
    );
    logs.of('j-9-0')[0]!.stream.write('2026-01-01T00:00:01Z a\n2026-01-01T00:00:02Z b\n');
    logs.of('j-9-1')[0]!.stream.write('2026-01-01T00:00:01Z x\n2026-01-01T00:00:0');
    logs.of('j-9-1')[0]!.stream.write('3Z y\n');
    await eventually(() => textOf(messages, 0) === 'a\nb\n' && textOf(messages, 1) === 'x\ny\n', 'both ranks');
    expect(messages.every((m) => m.streamId === session.id && m.stderr === null)).toBe(true);
    socket.drain();
    session.stop('cancelled');
  });

  it('reconnects from the last timestamp after a dropped stream and skips what it already sent', async () => {
    const { logs, session, messages } = setup(1);
    session.start();
    await eventually(() => logs.opened.length === 1, 'rank 0 opened');
    logs.opened[0]!.stream.end('2026-01-01T00:00:01.5Z one\n2026-01-01T00:00:02.5Z two\n');
    await eventually(() => logs.opened.length === 2, 'a second stream after the first ended while the pod runs');
    expect(logs.opened[1]!.req.sinceTime).toBe('2026-01-01T00:00:02.5Z');
    // The apiserver answers sinceTime at second precision: it repeats "two".
    logs.opened[1]!.stream.write('2026-01-01T00:00:02.5Z two\n2026-01-01T00:00:03Z three\n');
    await eventually(() => textOf(messages, 0) === 'one\ntwo\nthree\n', 'three lines, once each');
    session.stop('cancelled');
  });

  it('a rank whose pod has ended is done; all ranks done ends the session', async () => {
    const { kube, logs, session, ended } = setup(1);
    session.start();
    await eventually(() => logs.opened.length === 1, 'rank 0 opened');
    kube.mutate<{ status: { phase: string } }>('Pod', NS, 'j-9-0', (p) => (p.status.phase = 'Succeeded'));
    logs.opened[0]!.stream.end('2026-01-01T00:00:01Z bye\n');
    await eventually(() => ended.length === 1, 'the session to end');
    expect(ended).toEqual(['logs-ended']);
    expect(logs.opened).toHaveLength(1);
  });

  it('waits for a pod that has not started', async () => {
    const { kube, logs, session } = setup(1);
    kube.mutate<{ status: { phase: string } }>('Pod', NS, 'j-9-0', (p) => (p.status.phase = 'Pending'));
    let looks = 0;
    const get = kube.pods.get.bind(kube.pods);
    kube.pods.get = (ns, name) => (looks++, get(ns, name));
    session.start();
    await eventually(() => looks >= 3, 'three looks at the pending pod');
    expect(logs.opened).toHaveLength(0);
    kube.mutate<{ status: { phase: string } }>('Pod', NS, 'j-9-0', (p) => (p.status.phase = 'Running'));
    await eventually(() => logs.opened.length === 1, 'opened once the pod runs');
    session.stop('closed');
  });

  it('stop aborts every open stream, once', async () => {
    const { logs, session, ended } = setup(3);
    session.start();
    await eventually(() => logs.live === 3, 'three streams');
    session.stop('cancelled');
    session.stop('closed');
    expect(logs.live).toBe(0);
    expect(session.openStreams).toBe(0);
    expect(ended).toEqual(['cancelled']);
    expect(logs.opened.every((o) => o.req.signal.aborted)).toBe(true);
  });

  it('the job ending (or vanishing) ends the session', async () => {
    const { kube, logs, session, ended } = setup(1);
    session.start();
    await eventually(() => logs.live === 1, 'one stream');
    kube.mutate<UCloudJob>('UCloudJob', NS, 'j-9', (j) => void (j.status = { state: 'SUCCESS' } as UCloudJob['status']));
    await eventually(() => ended.length === 1, 'the session to end');
    expect(ended).toEqual(['job-ended']);
    expect(logs.live).toBe(0);
  });

  it('back-pressure: a client that does not read pauses the log streams; nothing grows without bound', async () => {
    const { logs, session, socket, gate, messages } = setup(1);
    session.start();
    await eventually(() => logs.opened.length === 1, 'rank 0 opened');
    const stream = logs.opened[0]!.stream;
    const line = (i: number) => `2026-01-01T00:00:00.${String(i).padStart(9, '0')}Z ${'x'.repeat(400)}\n`;
    for (let i = 0; i < 50; i++) stream.write(line(i));
    await eventually(() => stream.isPaused(), 'the log stream paused');
    const sentWhilePaused = socket.frames.length;
    // More output arrives; none of it is read, let alone sent, while the client is behind.
    for (let i = 50; i < 100; i++) stream.write(line(i));
    await new Promise((r) => setImmediate(r));
    expect(socket.frames.length).toBe(sentWhilePaused);
    expect(stream.isPaused()).toBe(true);
    // Bounded: the high-water mark plus at most one chunk's frame.
    const frameOfOneLine = JSON.stringify({ streamId: session.id, rank: 0, stdout: 'x'.repeat(400) + '\n', stderr: null }).length;
    expect(socket.maxBuffered).toBeLessThanOrEqual(1000 + frameOfOneLine);
    // The gate's own record of it, which the real-node test reads from a running operator.
    expect(gate.peakBuffered).toBe(socket.maxBuffered);
    // The client catches up: reading resumes until everything has been delivered.
    await eventually(() => {
      socket.drain();
      return textOf(messages, 0).split('\n').length - 1 === 100;
    }, 'all 100 lines after draining');
    session.stop('cancelled');
  });
});

describe('FollowSession of a job that ended, with a job folder', () => {
  const config = unitConfig({ namespace: NS, jobs: { jobFolder: { claimName: 'home' } } });
  function ended(replicas: number) {
    const kube = new FakeKube();
    const job = UCloudJobSchema.parse({
      apiVersion: 'ucloud.dk/v1alpha1',
      kind: 'UCloudJob',
      metadata: { name: 'j-9', namespace: NS, uid: 'uid-9' },
      spec: { ...ucloudJob().spec, jobId: '9', replicas, jobFolder: { claimName: 'home', subPath: 'home/u/Jobs/App/9' } },
      status: { state: 'SUCCESS' },
    });
    kube.seed('UCloudJob', job);
    const logs = new FakeLogs();
    const gate = new SendGate(new SlowSocket(), 1_000_000, 100);
    const messages: FollowResponse[] = [];
    const reasons: EndReason[] = [];
    const deps = {
      kube,
      jobs: new JobStore(kube, NS),
      namespace: NS,
      logs,
      logger: rootLogger,
      pollMs: 10,
      ensureLogReader: (j: UCloudJob, r: number) => ensureLogReader(kube, j, r, config),
    };
    const session = new FollowSession(job, gate, deps, (r) => reasons.push(r));
    session.onMessage = (p) => void messages.push(p);
    return { kube, logs, session, messages, reasons };
  }

  it("replays each rank's saved log through a fenced reader pod, then ends", async () => {
    const { kube, logs, session, messages, reasons } = ended(2);
    session.start();
    await eventually(() => kube.all('Pod', NS).length === 2, 'a reader per rank');
    expect(kube.peek('NetworkPolicy', NS, 'j-9-log')).toBeDefined();
    // The readers have run (the fake has no kubelet): their logs are the files.
    for (const r of [0, 1]) kube.mutate<V1Pod>('Pod', NS, `j-9-${r}-log`, (p) => (p.status = { phase: 'Succeeded' }));
    await eventually(() => logs.opened.length === 2, 'both readers opened');
    expect(logs.opened.map((o) => [o.req.pod, o.req.container]).sort()).toEqual([
      ['j-9-0-log', 'log'],
      ['j-9-1-log', 'log'],
    ]);
    logs.of('j-9-0-log')[0]!.stream.end('2026-01-01T00:00:01Z saved 0\n');
    logs.of('j-9-1-log')[0]!.stream.end('2026-01-01T00:00:01Z saved 1\n');
    await eventually(() => reasons.length === 1, 'the session to end');
    expect([textOf(messages, 0), textOf(messages, 1), reasons]).toEqual(['saved 0\n', 'saved 1\n', ['logs-ended']]);
  });

  it('a reader that ended without a log is removed, so a later follow makes a new one', async () => {
    const { kube, logs, session, reasons } = ended(1);
    logs.open = async () => {
      throw new Error('container never started');
    };
    session.start();
    await eventually(() => kube.peek('Pod', NS, 'j-9-0-log') !== undefined, 'the reader');
    kube.mutate<V1Pod>('Pod', NS, 'j-9-0-log', (p) => (p.status = { phase: 'Failed', reason: 'DeadlineExceeded' }));
    await eventually(() => reasons.length === 1, 'the session to end');
    expect(kube.peek('Pod', NS, 'j-9-0-log')).toBeUndefined();
  });

  it('is not a replay without a job folder: an ended job ends the session as before', async () => {
    const { kube, logs } = ended(1);
    const plain = UCloudJobSchema.parse({ ...kube.peek<UCloudJob>('UCloudJob', NS, 'j-9')!, spec: { ...ucloudJob().spec, jobId: '9' } });
    const reasons: EndReason[] = [];
    const s = new FollowSession(
      plain,
      new SendGate(new SlowSocket(), 1000, 100),
      { kube, jobs: new JobStore(kube, NS), namespace: NS, logs, logger: rootLogger, pollMs: 10, ensureLogReader: async () => undefined },
      (r) => reasons.push(r),
    );
    s.start();
    await eventually(() => reasons.length === 1, 'the session to end');
    expect([reasons, kube.all('Pod', NS)]).toEqual([['job-ended'], []]);
  });
});

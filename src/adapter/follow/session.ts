// One follow session: every rank of one job, streamed from its pod's log until the session is
// cancelled, its socket closes or the job ends. A job that has ended and has a job folder is
// replayed instead: each rank's saved /work/stdout-<rank>.log through a log-reader pod
// (controller/desired/log-reader.ts, docs/adr/0018), until every reader has printed it.
// Each rank has a follower that waits for its pod to start, reads the log in follow mode and,
// when the stream ends while the pod still runs (the apiserver or kubelet dropped it), reconnects
// from the last timestamp it forwarded, skipping lines it already sent. Every log request shares the session's AbortSignal, so stopping the session
// destroys every underlying HTTP connection.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { podName } from '../../api/v1alpha1/names.js';
import { isFinal, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../../api/v1alpha1/names.js';
import { LOG_READER_CONTAINER, logReaderPodName } from '../../controller/desired/log-reader.js';
import type { KubePort } from '../../k8s/kube-port.js';
import type { Logger } from '../../observability/log.js';
import type { JobStore } from '../job-store.js';
import type { LogSource } from './log-source.js';
import type { FollowResponse } from './protocol.js';
import type { SendGate } from './send-gate.js';
import { decodeUtf8Dropping, LineSplitter, splitStamp } from './text.js';
import type { UtilizationHub } from './utilization-hub.js';
import { UtilizationFollower } from './utilization-follower.js';

export interface FollowDeps {
  kube: KubePort;
  jobs: JobStore;
  namespace: string;
  logs: LogSource;
  logger: Logger;
  /** How often a waiting rank looks for its pod and the session checks whether the job ended. */
  pollMs: number;
  /** Creates rank r's log-reader pod (and its policy) if missing; without it ended jobs are not replayed. */
  ensureLogReader?: (job: UCloudJob, rank: number) => Promise<void>;
  /** Utilization charts of a running job's rank 0 (docs/adr/0027); without it none are sent. */
  utilization?: UtilizationHub;
}

/** Why a session ended: cancel and close are the client's doing, the others the job's. */
export type EndReason = 'cancelled' | 'closed' | 'job-ended' | 'logs-ended';

const ENDED_PHASES = new Set(['Succeeded', 'Failed']);

/** The container has started (running or already ended), so the pod-log API can serve it. */
export function containerStarted(pod: V1Pod | undefined, container = USER_CONTAINER): boolean {
  if (!pod) return false;
  if (ENDED_PHASES.has(pod.status?.phase ?? '')) return true;
  const st = pod.status?.containerStatuses?.find((c) => c.name === container);
  return !!(st?.state?.running || st?.state?.terminated) || pod.status?.phase === 'Running';
}

export class FollowSession {
  readonly id = randomUUID();
  private readonly abort = new AbortController();
  private endReason: EndReason | undefined;
  private utilization: UtilizationFollower | undefined;
  /** Open log streams, for tests and metrics. */
  openStreams = 0;

  constructor(
    private readonly job: UCloudJob,
    private readonly gate: SendGate,
    private readonly deps: FollowDeps,
    /** Called once, when the session ends for any reason. */
    private readonly onEnd: (reason: EndReason) => void,
  ) {}

  get ended(): boolean {
    return this.endReason !== undefined;
  }

  /** Whether this session replays a finished job's saved logs rather than following its pods. */
  get replaying(): boolean {
    return isFinal(this.job.status?.state) && !!this.job.spec.jobFolder && !!this.deps.ensureLogReader;
  }

  /** Starts every rank's follower and the job watcher; returns at once. */
  start(): void {
    const ranks = Array.from({ length: this.job.spec.replicas }, (_, r) => this.followRank(r));
    void Promise.all(ranks).then(() => this.stop('logs-ended'));
    // A replay ends when its readers have printed everything; the job has ended already.
    if (!this.replaying) void this.watchJob();
  }

  /** Ends the session: aborts every log stream. Idempotent; the first reason wins. */
  stop(reason: EndReason): void {
    if (this.endReason) return;
    this.endReason = reason;
    this.abort.abort();
    this.utilization?.stop();
    this.onEnd(reason);
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private async pause(): Promise<void> {
    await sleep(this.deps.pollMs, undefined, { signal: this.signal }).catch(() => undefined);
  }

  private async watchJob(): Promise<void> {
    while (!this.signal.aborted) {
      await this.pause();
      if (this.signal.aborted) return;
      try {
        const cr = await this.deps.jobs.get(this.job.spec.jobId);
        if (!cr || isFinal(cr.status?.state)) this.stop('job-ended');
      } catch (e) {
        this.deps.logger.debug('Follow: could not read the job', { jobId: this.job.spec.jobId, err: e });
      }
    }
  }

  private send(rank: number, stdout: string): void {
    const payload: FollowResponse = { streamId: this.id, rank, stdout, stderr: null };
    this.onMessage(payload);
  }

  /** Charts follow rank 0's pod once it has started on a node; never for a replay. */
  private startUtilization(rank: number, pod: V1Pod | undefined): void {
    const hub = this.deps.utilization;
    if (rank !== 0 || !hub || this.utilization || !pod || this.signal.aborted) return;
    this.utilization = new UtilizationFollower(hub, this.gate, (channel, stdout) =>
      this.onMessage({ streamId: this.id, rank: 0, stdout, stderr: null, channel }),
    );
    this.utilization.start(pod);
  }

  /** Set by the connection: how a message reaches the socket (wrapped in its request's envelope). */
  onMessage: (payload: FollowResponse) => void = () => undefined;

  /** Creates the rank's log reader; false (after a pause) while that fails. */
  private async ensureReader(rank: number): Promise<boolean> {
    try {
      await this.deps.ensureLogReader!(this.job, rank);
      return true;
    } catch (e) {
      this.deps.logger.warn('Follow: could not create a log reader', { jobId: this.job.spec.jobId, rank, err: e });
      await this.pause();
      return false;
    }
  }

  private async followRank(rank: number): Promise<void> {
    const replay = this.replaying;
    const pod = replay ? logReaderPodName(this.job.metadata.name, rank) : podName(this.job.metadata.name, rank);
    const container = replay ? LOG_READER_CONTAINER : USER_CONTAINER;
    const ns = this.deps.namespace;
    let lastAt: bigint | undefined;
    let lastStamp: string | undefined;
    while (replay && !this.signal.aborted && !(await this.ensureReader(rank)));
    while (!this.signal.aborted) {
      let current: V1Pod | undefined;
      try {
        current = await this.deps.kube.pods.get(ns, pod);
      } catch (e) {
        this.deps.logger.debug('Follow: could not read a pod', { pod, err: e });
      }
      if (this.signal.aborted) return;
      if (!containerStarted(current, container)) {
        await this.pause();
        continue;
      }
      if (!replay) this.startUtilization(rank, current);
      let stream: Readable | undefined;
      try {
        stream = await this.deps.logs.open({ namespace: ns, pod, container, sinceTime: lastStamp, signal: this.signal });
      } catch (e) {
        if (this.signal.aborted) return;
        // A reader that ended without a log (it never started: its deadline passed) is removed,
        // so the next follow makes a new one; this one has nothing to say.
        if (replay && ENDED_PHASES.has(current?.status?.phase ?? '')) {
          this.deps.logger.info('Follow: a log reader ended without a log; removed', { pod, err: e });
          await this.deps.kube.pods.delete(ns, pod).catch(() => undefined);
          return;
        }
        this.deps.logger.debug('Follow: the pod log is not available yet', { pod, err: e });
        await this.pause();
        continue;
      }
      const last = await this.pump(stream, rank, lastAt);
      if (last) ({ at: lastAt, stamp: lastStamp } = last);
      if (this.signal.aborted) return;
      // The stream ended. A pod that has ended has nothing more to say; otherwise reconnect.
      try {
        const after = await this.deps.kube.pods.get(ns, pod);
        if (!after || ENDED_PHASES.has(after.status?.phase ?? '')) return;
      } catch (e) {
        this.deps.logger.debug('Follow: could not read a pod', { pod, err: e });
      }
      await this.pause();
    }
  }

  /**
   * Forwards one log stream until it ends or the session is aborted; returns the timestamp of the
   * last line forwarded. Lines at or before `after` were sent by an earlier stream and are skipped.
   */
  private pump(stream: Readable, rank: number, after: bigint | undefined): Promise<{ at: bigint; stamp: string } | undefined> {
    const splitter = new LineSplitter();
    let last: { at: bigint; stamp: string } | undefined;
    this.openStreams++;
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.openStreams--;
        this.signal.removeEventListener('abort', onAbort);
        stream.destroy();
        resolve(last);
      };
      const onAbort = () => finish();
      this.signal.addEventListener('abort', onAbort);
      const forward = (lines: Buffer[], terminated = true) => {
        let text = '';
        for (const line of lines) {
          const { at, stamp, text: body } = splitStamp(line);
          if (at !== undefined && after !== undefined && at <= after) continue;
          if (at !== undefined) last = { at, stamp: stamp! };
          text += decodeUtf8Dropping(body) + (terminated ? '\n' : '');
        }
        if (text && !this.signal.aborted) this.send(rank, text);
      };
      stream.on('data', (chunk: Buffer | string) => {
        forward(splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
        if (this.gate.blocked && !stream.isPaused()) {
          stream.pause();
          this.gate.whenDrained(() => {
            if (!done) stream.resume();
          });
        }
      });
      stream.on('end', () => {
        const rest = splitter.end();
        if (rest) forward([rest], false);
        finish();
      });
      stream.on('error', finish);
      stream.on('close', finish);
      if (this.signal.aborted) finish();
    });
  }
}

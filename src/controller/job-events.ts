// One way to tell `kubectl describe uj` what happened to a job: a Kubernetes Event regarding the
// UCloudJob. An Event is a courtesy to the reader, never part of the job's record (the CR's
// status is), so a failure to write one is logged and otherwise ignored: it must not fail a
// reconcile, a report or a charge. So a reconcile need not wait for one either: `emit` queues it
// (bounded: a burst of ended jobs after a restart must not put an Event write in front of the next
// job's status write) and the queue writes a few at a time.
import { API_VERSION, KIND } from '../api/v1alpha1/ucloudjob.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { WritePriority } from '../k8s/write-priority.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';

/** Which UCloudJob an Event is about. */
export interface JobRef {
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';
/** The component's verb, as Events' `action` (what the operator was doing when it happened). */
export type EventAction = 'Reconcile' | 'Report' | 'Charge';

export interface EventQueueLimits {
  /** Event writes in flight at once (each holds one apiserver connection). */
  maxInFlight: number;
  /** Events waiting beyond those; more are dropped and counted (an Event is a courtesy). */
  maxQueued: number;
}

const DEFAULT_LIMITS: EventQueueLimits = { maxInFlight: 4, maxQueued: 20_000 };

interface Pending {
  job: JobRef;
  type: EventType;
  reason: string;
  action: EventAction;
  note: string;
  at: Date;
}

export class JobEventRecorder {
  private readonly backlog: Pending[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly kube: Pick<KubePort, 'recordEvent'>,
    private readonly logger: Logger,
    private readonly metrics?: Pick<OperatorMetrics, 'eventsNotRecorded'>,
    private readonly limits: EventQueueLimits = DEFAULT_LIMITS,
    /** Queued Events give way to the state writes in flight (write-priority.ts). */
    private readonly priority?: WritePriority,
  ) {}

  /** Writes the Event now; resolves once written or given up (never rejects). */
  async record(job: JobRef, type: EventType, reason: string, action: EventAction, note: string): Promise<void> {
    await this.write({ job, type, reason, action, note });
  }

  /**
   * Queues the Event and returns at once. Its time is taken now, so a queued Event still says when
   * it happened. Call it only after what the Event tells is stored (the status write), so no Event
   * tells of a change a crash could still lose.
   */
  emit(job: JobRef, type: EventType, reason: string, action: EventAction, note: string): void {
    if (this.backlog.length >= this.limits.maxQueued) {
      this.metrics?.eventsNotRecorded.inc({ cause: 'overflow' });
      return;
    }
    this.backlog.push({ job, type, reason, action, note, at: new Date() });
    this.pump();
  }

  /**
   * Shutdown: drops what is still waiting (counted, cause `shutdown`: a long backlog must not
   * outlast the pod's termination grace period) and resolves once the writes in flight end.
   */
  close(): Promise<void> {
    if (this.backlog.length) this.metrics?.eventsNotRecorded.inc({ cause: 'shutdown' }, this.backlog.length);
    this.backlog.length = 0;
    return this.idle();
  }

  /** Resolves once every emitted Event is written or given up (tests). */
  idle(): Promise<void> {
    if (!this.inFlight && !this.backlog.length) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.inFlight < this.limits.maxInFlight && this.backlog.length) {
      const next = this.backlog.shift()!;
      this.inFlight++;
      void this.writeQueued(next).finally(() => {
        this.inFlight--;
        this.pump();
        if (!this.inFlight && !this.backlog.length) this.idleWaiters.splice(0).forEach((r) => r());
      });
    }
  }

  private async writeQueued(ev: Pending): Promise<void> {
    // Started in this turn when nothing holds it (emit's callers and tests see it begun).
    if (this.priority?.stateWritesInFlight) await this.priority.background();
    await this.write(ev);
  }

  private async write(ev: Omit<Pending, 'at'> & { at?: Date }): Promise<void> {
    const { job, type, reason, action, note, at } = ev;
    try {
      await this.kube.recordEvent({
        namespace: job.namespace,
        regarding: { apiVersion: API_VERSION, kind: KIND, name: job.name, namespace: job.namespace, ...(job.uid ? { uid: job.uid } : {}) },
        type,
        reason,
        action,
        note,
        ...(at ? { at } : {}),
      });
    } catch (e) {
      this.metrics?.eventsNotRecorded.inc({ cause: 'error' });
      this.logger.warn('Could not record an Event', { job: `${job.namespace}/${job.name}`, reason, err: e });
    }
  }
}

/** The reference of a UCloudJob as stored (namespace and uid from its metadata). */
export function jobRef(job: { metadata: { namespace?: string; name: string; uid?: string } }, fallbackNamespace = ''): JobRef {
  return { namespace: job.metadata.namespace ?? fallbackNamespace, name: job.metadata.name, ...(job.metadata.uid ? { uid: job.metadata.uid } : {}) };
}

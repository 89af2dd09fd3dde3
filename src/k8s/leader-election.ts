// Leader election with a coordination.k8s.io Lease, following client-go's algorithm (the JS
// client has none): acquire when the Lease is free or its holder has not renewed for
// leaseDuration as measured by OUR clock since we last saw the record change (no clock-skew
// trust), renew every retryPeriod, and give up leadership if a renewal has not succeeded within
// renewDeadline. Writes carry resourceVersion, so two candidates can never both win a round.
// Not fencing: idempotent reconciles and resourceVersion preconditions still matter.
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { isConflict } from './errors.js';
import type { KubePort } from './kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';

export interface LeaderElectionOptions {
  kube: KubePort;
  namespace: string;
  leaseName: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  logger: Logger;
  metrics?: OperatorMetrics;
  onStartedLeading: () => Promise<void> | void;
  /** Called once when leadership is lost; the process should stop reconciling (and usually exit). */
  onStoppedLeading: () => Promise<void> | void;
  now?: () => number;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenew = 0;
  /** The round in progress, so stopping can wait for it. */
  private round: Promise<void> = Promise.resolve();
  /** onStartedLeading in progress (it runs beside the renewals). */
  private starting: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private setLeading(v: 0 | 1): void {
    this.opts.metrics?.leader.set(v);
    this.opts.metrics?.leaderElectionMasterStatus.set({ name: this.opts.leaseName }, v);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  start(): void {
    this.stopped = false;
    // A candidate is a backup (0) until it wins, as client-go reports it.
    if (!this.leading) this.setLeading(0);
    this.round = this.loop();
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = this.now();
        if (!this.leading) {
          this.leading = true;
          this.setLeading(1);
          this.opts.logger.info('Became leader', { lease: this.opts.leaseName, identity: this.opts.identity });
          // Like client-go's OnStartedLeading goroutine: starting (cache sync can take a while)
          // must not hold up renewals, or the lease would expire under a leader still starting.
          this.starting = Promise.resolve()
            .then(() => this.opts.onStartedLeading())
            .catch((e: unknown) => this.opts.logger.error('Starting as leader failed', { err: e }));
        }
      } else if (this.leading && this.now() - this.lastRenew > this.opts.renewDeadlineSeconds * 1000) {
        await this.loseLeadership('could not renew the lease within the renew deadline');
      }
    } catch (e) {
      this.opts.logger.warn('Leader election round failed', { err: e });
      if (this.leading && this.now() - this.lastRenew > this.opts.renewDeadlineSeconds * 1000) {
        await this.loseLeadership('lease renewal kept failing');
      }
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.loop();
    }, this.opts.retryPeriodSeconds * 1000);
    this.timer.unref();
  }

  /** Like client-go's RunOrDie, a lost leadership ends the campaign: the process restarts clean. */
  private async loseLeadership(why: string): Promise<void> {
    this.leading = false;
    this.stopped = true;
    this.setLeading(0);
    this.opts.logger.error('Lost leadership', { why });
    await this.starting;
    await this.opts.onStoppedLeading();
  }

  private desired(previous: V1Lease | undefined, transitions: number): V1Lease {
    const now = new V1MicroTime(this.now());
    const keep = previous?.spec?.holderIdentity === this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.leaseName, namespace: this.opts.namespace, resourceVersion: previous?.metadata?.resourceVersion },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: this.opts.leaseDurationSeconds,
        acquireTime: keep && previous?.spec?.acquireTime ? previous.spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: transitions,
      },
    };
  }

  /** One round; true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { kube, namespace, leaseName, identity } = this.opts;
    const current = await kube.leases.get(namespace, leaseName);
    if (!current) {
      const res = await kube.leases.create(namespace, this.desired(undefined, 0));
      return res.created;
    }
    const spec = current.spec ?? {};
    const record = `${spec.holderIdentity}|${String(spec.renewTime)}|${current.metadata?.resourceVersion}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = this.now();
    }
    const holder = spec.holderIdentity;
    const duration = (spec.leaseDurationSeconds ?? this.opts.leaseDurationSeconds) * 1000;
    const expired = !holder || this.now() - this.observedAt > duration;
    if (holder !== identity && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      const updated = await kube.leases.replace(namespace, leaseName, this.desired(current, transitions));
      this.observedRecord = `${updated.spec?.holderIdentity}|${String(updated.spec?.renewTime)}|${updated.metadata?.resourceVersion}`;
      this.observedAt = this.now();
      return true;
    } catch (e) {
      if (isConflict(e)) return false; // someone else wrote first this round
      throw e;
    }
  }

  /**
   * Stops campaigning and waits for the round and any start in progress (a leader keeps the lease: call
   * release() once its duties have stopped, so no standby starts while we still reconcile).
   */
  async stopCampaign(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round.catch(() => undefined);
    clearTimeout(this.timer);
    await this.starting;
  }

  /**
   * Gives the lease up (client-go's ReleaseOnCancel): holderIdentity cleared and a 1 s duration,
   * so a standby takes over at its next retry instead of waiting out the lease duration.
   */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.setLeading(0);
    try {
      const current = await this.opts.kube.leases.get(this.opts.namespace, this.opts.leaseName);
      if (current?.spec?.holderIdentity === this.opts.identity) {
        await this.opts.kube.leases.replace(this.opts.namespace, this.opts.leaseName, {
          ...current,
          spec: { ...current.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) },
        });
        this.opts.logger.info('Released the lease', { lease: this.opts.leaseName, identity: this.opts.identity });
      }
    } catch (e) {
      this.opts.logger.warn('Could not release the lease', { err: e });
    }
  }

  /** Stops campaigning; a leader releases the lease (unless release is false) so a standby takes over at once. */
  async stop(release = true): Promise<void> {
    await this.stopCampaign();
    if (release) await this.release();
    else if (this.leading) {
      this.leading = false;
      this.setLeading(0);
    }
  }
}

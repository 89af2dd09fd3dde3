// Polls kubelet Summaries only for nodes that run a followed job, one poll per node however many
// followers it has (docs/adr/0027). Nothing is polled while nobody follows: 10,000 running jobs
// with no follower cost no request. A node's loop starts with its first subscriber and stops with
// its last; the number of nodes polled at once is capped (a follower beyond the cap gets no
// charts, its log is unaffected).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../observability/log.js';
import type { KubeletStatsPort, PodStats } from './kubelet-summary.js';

export type PodStatsListener = (stats: PodStats) => void;

interface NodeLoop {
  /** Listeners by "namespace/pod". */
  listeners: Map<string, Set<PodStatsListener>>;
  abort: AbortController;
  failures: number;
}

export interface UtilizationHubOptions {
  stats: KubeletStatsPort;
  logger: Logger;
  intervalMs: number;
  maxNodes: number;
}

export class UtilizationHub {
  private readonly nodes = new Map<string, NodeLoop>();
  /** Summary requests made, for tests and metrics. */
  polls = 0;

  constructor(private readonly opts: UtilizationHubOptions) {}

  /** Nodes being polled now. */
  get polledNodes(): number {
    return this.nodes.size;
  }

  /**
   * Calls `listener` with the pod's stats after every poll of its node that has them; returns the
   * unsubscribe function, or undefined when the node cap is reached.
   */
  subscribe(node: string, namespace: string, pod: string, listener: PodStatsListener): (() => void) | undefined {
    let loop = this.nodes.get(node);
    if (!loop) {
      if (this.nodes.size >= this.opts.maxNodes) {
        this.opts.logger.warn('Utilization: node cap reached, no charts for this follower', { node, maxNodes: this.opts.maxNodes });
        return undefined;
      }
      loop = { listeners: new Map(), abort: new AbortController(), failures: 0 };
      this.nodes.set(node, loop);
      void this.run(node, loop);
    }
    const key = `${namespace}/${pod}`;
    const set = loop.listeners.get(key) ?? new Set();
    set.add(listener);
    loop.listeners.set(key, set);
    const owner = loop;
    return () => {
      set.delete(listener);
      if (!set.size) owner.listeners.delete(key);
      if (!owner.listeners.size && this.nodes.get(node) === owner) {
        this.nodes.delete(node);
        owner.abort.abort();
      }
    };
  }

  stop(): void {
    for (const loop of this.nodes.values()) loop.abort.abort();
    this.nodes.clear();
  }

  private async run(node: string, loop: NodeLoop): Promise<void> {
    const signal = loop.abort.signal;
    while (!signal.aborted) {
      try {
        this.polls++;
        const summary = await this.opts.stats.summary(node, signal);
        loop.failures = 0;
        for (const pod of summary.pods) {
          for (const l of loop.listeners.get(`${pod.podRef.namespace}/${pod.podRef.name}`) ?? []) l(pod);
        }
      } catch (e) {
        if (signal.aborted) return;
        // Said once per failing streak at warn (a kubelet that refuses the operator refuses it every time).
        const fields = { node, err: e };
        if (loop.failures++ === 0) this.opts.logger.warn('Utilization: could not read the kubelet summary', fields);
        else this.opts.logger.debug('Utilization: could not read the kubelet summary', fields);
      }
      // Back off while the kubelet fails, up to ten intervals.
      const wait = this.opts.intervalMs * Math.min(10, 1 + loop.failures);
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }
}

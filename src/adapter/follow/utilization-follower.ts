// One follow session's utilization charts: subscribes rank 0's pod (the rank IM2 measures) to the
// hub and turns each new kubelet reading into IM2's "ui" and "utilization-data" messages
// (utilization-charts.ts). The charts are (re)sent before the first row and whenever the pod's
// network interfaces change, as ucmetrics re-creates its widgets. A sample that would wait behind
// a blocked socket is dropped rather than queued: the next one supersedes it.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodStats } from './kubelet-summary.js';
import type { SendGate } from './send-gate.js';
import { chartWidgets, DATA_CHANNEL, isNewer, podLimits, rowText, samplePod, UI_CHANNEL, utilizationRow, type PodSample } from './utilization-charts.js';
import type { UtilizationHub } from './utilization-hub.js';

export type ChannelSend = (channel: string, text: string) => void;

export class UtilizationFollower {
  private prev: PodSample | undefined;
  private chartsFor: string | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly hub: UtilizationHub,
    private readonly gate: Pick<SendGate, 'blocked'>,
    private readonly send: ChannelSend,
  ) {}

  /** Starts following `pod` (once; later calls are ignored). False when the hub refused it. */
  start(pod: V1Pod): boolean {
    if (this.unsubscribe) return true;
    const node = pod.spec?.nodeName;
    const { name, namespace } = pod.metadata ?? {};
    if (!node || !name || !namespace) return false;
    const limits = podLimits(pod);
    this.unsubscribe = this.hub.subscribe(node, namespace, name, (stats) => this.onStats(stats, limits));
    return !!this.unsubscribe;
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private onStats(stats: PodStats, limits: ReturnType<typeof podLimits>): void {
    const cur = samplePod(stats);
    if (!cur || !isNewer(this.prev, cur)) return;
    const prev = this.prev;
    this.prev = cur;
    if (this.gate.blocked) return;
    const names = cur.interfaces.map((i) => i.name);
    if (this.chartsFor !== names.join('\n')) {
      this.chartsFor = names.join('\n');
      this.send(UI_CHANNEL, chartWidgets(limits, names));
    }
    this.send(DATA_CHANNEL, rowText(utilizationRow(prev, cur)));
  }
}

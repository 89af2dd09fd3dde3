// A followed job's utilization charts as IM2 sends them, computed from kubelet Summary samples
// (docs/adr/0027) instead of IM2's ucmetrics binary inside the container. On the wire (UCloud:
// provider-integration/im2/pkg/ucmetrics/cli.go, pkg/ucviz/00_module.go, and the follow loop of
// pkg/integrations/k8s/containers/00_module.go) both are follow log messages of rank 0, text in
// `stdout`, told apart by `channel`:
//   "ui"                one LineChart widget per chart, as ucviz writes it: three JSON lines,
//                       the packet header {action}, the widget {id, type, location} and the
//                       chart definition {channel, series, xAxis, yAxis, yAxisColumn};
//   "utilization-data"  one sample: 64 comma-separated numbers, column 0 the time (Unix ms),
//                       1 CPU (100 = one core), 2 memory (bytes), 3..6 receive/transmit bytes per
//                       second of up to two network interfaces (7.. GPUs, not measured here).
// The web client (frontend-web/webclient/app/Applications/Jobs/JobViz/StreamProcessor.ts) parses
// "ui" text line by line and splits "utilization-data" rows on commas.
import type { V1Pod } from '@kubernetes/client-node';
import { parseQuantity } from '../utilization.js';
import type { PodStats } from './kubelet-summary.js';

export const UI_CHANNEL = 'ui';
export const DATA_CHANNEL = 'utilization-data';
const COLUMNS = 64;
const MAX_INTERFACES = 2;

// ucviz's enums (pkg/ucviz/00_module.go).
const ACTION_CREATE = 0;
const TYPE_LINE_CHART = 6;
const WINDOW_MAIN = 0;
const ICON = { cpu: 2, memory: 4, network: 5 } as const;
const UNIT = { percent100: 3, bytes: 4, bytesPerSecond: 5, dateTime: 6 } as const;

/** What the charts' y axes end at: the pod's limits (cores, bytes); undefined where it has none. */
export interface PodLimits {
  cpuCores?: number;
  memoryBytes?: number;
}

/** One sample of a pod: cumulative counters as the kubelet reports them. */
export interface PodSample {
  /** Unix ms of the CPU reading (the kubelet's, not ours). */
  at: number;
  cpuCoreNanoSeconds?: number;
  /** The kubelet's own rate, for the first sample (no previous one to take a difference with). */
  cpuNanoCores?: number;
  memoryBytes: number;
  networkAt?: number;
  interfaces: Array<{ name: string; rx: number; tx: number }>;
}

export function podLimits(pod: V1Pod): PodLimits {
  let cpu = 0;
  let memory = 0;
  let cpuAll = true;
  let memoryAll = true;
  for (const c of pod.spec?.containers ?? []) {
    const l = c.resources?.limits ?? {};
    const cpuLimit = parseQuantity(l.cpu);
    const memoryLimit = parseQuantity(l.memory);
    if (cpuLimit === undefined) cpuAll = false;
    else cpu += cpuLimit;
    if (memoryLimit === undefined) memoryAll = false;
    else memory += memoryLimit;
  }
  // A container without a limit makes the pod's unbounded: no axis maximum then.
  return { cpuCores: cpuAll && cpu > 0 ? cpu : undefined, memoryBytes: memoryAll && memory > 0 ? memory : undefined };
}

const ms = (time: string | undefined): number | undefined => {
  const t = time === undefined ? NaN : Date.parse(time);
  return Number.isFinite(t) ? t : undefined;
};

/** A pod's Summary entry as one sample: every container summed, interfaces in name order. */
export function samplePod(stats: PodStats): PodSample | undefined {
  const containers = stats.containers ?? [];
  const at = containers.map((c) => ms(c.cpu?.time)).find((t) => t !== undefined);
  if (at === undefined) return undefined;
  const sum = (pick: (c: (typeof containers)[number]) => number | undefined) => {
    let total = 0;
    for (const c of containers) {
      const v = pick(c);
      if (v === undefined) return undefined;
      total += v;
    }
    return total;
  };
  const interfaces = (stats.network?.interfaces ?? [])
    .map((i) => ({ name: i.name, rx: i.rxBytes ?? 0, tx: i.txBytes ?? 0 }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, MAX_INTERFACES);
  return {
    at,
    cpuCoreNanoSeconds: sum((c) => c.cpu?.usageCoreNanoSeconds),
    cpuNanoCores: sum((c) => c.cpu?.usageNanoCores),
    memoryBytes: sum((c) => c.memory?.workingSetBytes) ?? 0,
    networkAt: ms(stats.network?.time),
    interfaces,
  };
}

/** Whether `cur` is a newer reading than `prev` (the kubelet refreshes its stats every ~10 s). */
export function isNewer(prev: PodSample | undefined, cur: PodSample): boolean {
  return !prev || cur.at > prev.at;
}

/**
 * The data row of `cur`: CPU is the counter's growth over the time between the two readings
 * (the kubelet's own rate when there is no earlier reading), network the same per interface.
 */
export function utilizationRow(prev: PodSample | undefined, cur: PodSample): number[] {
  const row = new Array<number>(COLUMNS).fill(0);
  row[0] = cur.at;
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  let cores = (cur.cpuNanoCores ?? 0) / 1e9;
  if (prev && dt > 0 && prev.cpuCoreNanoSeconds !== undefined && cur.cpuCoreNanoSeconds !== undefined && cur.cpuCoreNanoSeconds >= prev.cpuCoreNanoSeconds) {
    cores = (cur.cpuCoreNanoSeconds - prev.cpuCoreNanoSeconds) / 1e9 / dt;
  }
  row[1] = round(cores * 100);
  row[2] = cur.memoryBytes;
  const netDt = prev?.networkAt !== undefined && cur.networkAt !== undefined ? (cur.networkAt - prev.networkAt) / 1000 : 0;
  cur.interfaces.forEach((i, n) => {
    const before = prev?.interfaces.find((p) => p.name === i.name);
    if (!before || netDt <= 0) return;
    row[3 + 2 * n] = round(Math.max(0, i.rx - before.rx) / netDt);
    row[4 + 2 * n] = round(Math.max(0, i.tx - before.tx) / netDt);
  });
  return row;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** The text of one data message. */
export const rowText = (row: number[]): string => row.join(',');

interface ChartDef {
  id: string;
  title: string;
  icon: number;
  series: Array<{ name: string; column: number }>;
  unit: number;
  minimum: number | null;
  maximum: number | null;
}

function charts(limits: PodLimits, interfaces: string[]): ChartDef[] {
  return [
    {
      id: 'cpu',
      title: 'CPU utilization',
      icon: ICON.cpu,
      series: [{ name: 'CPU', column: 1 }],
      unit: UNIT.percent100,
      minimum: 0,
      maximum: limits.cpuCores !== undefined ? limits.cpuCores * 100 : null,
    },
    {
      id: 'memory',
      title: 'Memory',
      icon: ICON.memory,
      series: [{ name: 'Memory', column: 2 }],
      unit: UNIT.bytes,
      minimum: 0,
      maximum: limits.memoryBytes ?? null,
    },
    {
      id: 'network',
      title: 'Network',
      icon: ICON.network,
      series: interfaces.flatMap((name, n) => [
        { name: `${name} receive`, column: 3 + 2 * n },
        { name: `${name} transmit`, column: 4 + 2 * n },
      ]),
      unit: UNIT.bytesPerSecond,
      minimum: null,
      maximum: null,
    },
  ];
}

/** The "ui" text that creates the three charts (CPU, memory, network), as ucmetrics has ucviz write it. */
export function chartWidgets(limits: PodLimits, interfaces: string[]): string {
  return charts(limits, interfaces)
    .map((c) =>
      [
        { action: ACTION_CREATE },
        { id: c.id, type: TYPE_LINE_CHART, location: { window: WINDOW_MAIN, tab: c.title, icon: c.icon } },
        {
          channel: DATA_CHANNEL,
          series: c.series,
          xAxis: { unit: UNIT.dateTime, minimum: null, maximum: null },
          yAxis: { unit: c.unit, minimum: c.minimum, maximum: c.maximum },
          yAxisColumn: 0,
        },
      ]
        .map((line) => JSON.stringify(line) + '\n')
        .join(''),
    )
    .join('');
}

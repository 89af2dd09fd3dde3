// Kubelet Summary samples (recorded from a real node, test/fixtures/kubelet-summary-*.json) into
// IM2's utilization messages: the schema, the per-pod sample, the data row and the chart widgets.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { SummarySchema } from '../../../../src/adapter/follow/kubelet-summary.js';
import { chartWidgets, isNewer, podLimits, rowText, samplePod, utilizationRow } from '../../../../src/adapter/follow/utilization-charts.js';

const recorded = (n: number) => SummarySchema.parse(JSON.parse(readFileSync(new URL(`../../../fixtures/kubelet-summary-${n}.json`, import.meta.url), 'utf8')));
const BUSY_POD = 'j-92701-0';
const IDLE_POD = 'j-92702-0';
const podOf = (n: number, name: string) => recorded(n).pods.find((p) => p.podRef.name === name)!;

describe('kubelet Summary into utilization rows', () => {
  it('reads a recorded Summary: every pod of the node with the CPU and memory of its containers', () => {
    const s = recorded(1);
    expect(s.pods.map((p) => p.podRef.name)).toEqual(expect.arrayContaining([BUSY_POD, IDLE_POD]));
    const busy = samplePod(podOf(1, BUSY_POD))!;
    expect(busy.memoryBytes).toBeGreaterThan(150e6);
    // This project's real nodes report no pod network (the network chart stays empty there).
    expect(busy.interfaces).toEqual([]);
  });

  it('a busy pod uses its share of a core between two readings, an idle one none', () => {
    const busy = utilizationRow(samplePod(podOf(1, BUSY_POD)), samplePod(podOf(2, BUSY_POD))!);
    const idle = utilizationRow(samplePod(podOf(1, IDLE_POD)), samplePod(podOf(2, IDLE_POD))!);
    expect(busy).toHaveLength(64);
    // The busy loop shared two contended host cores: 5.32 core-seconds in the 12 s between readings.
    const [a, b] = [1, 2].map((n) => podOf(n, BUSY_POD).containers![0]!.cpu!);
    const seconds = (Date.parse(b!.time) - Date.parse(a!.time)) / 1000;
    expect(busy[1]).toBeCloseTo(((b!.usageCoreNanoSeconds! - a!.usageCoreNanoSeconds!) / 1e9 / seconds) * 100, 2);
    expect(busy[1]).toBeGreaterThan(40);
    expect(busy[2]).toBeGreaterThan(150e6);
    expect(idle[1]).toBeLessThan(5);
    expect(idle[2]).toBeLessThan(50e6);
    expect(busy[0]).toBe(Date.parse(podOf(2, BUSY_POD).containers![0]!.cpu!.time));
  });

  it('the first reading uses the kubelet rate; a reading no newer than the last is not a new row', () => {
    const first = samplePod(podOf(1, BUSY_POD))!;
    expect(utilizationRow(undefined, first)[1]).toBeCloseTo((first.cpuNanoCores! / 1e9) * 100, 2);
    expect(isNewer(undefined, first)).toBe(true);
    expect(isNewer(first, first)).toBe(false);
  });

  it('network rates are the counters growth per second, per interface, never negative', () => {
    const prev = { at: 0, memoryBytes: 0, networkAt: 1000, interfaces: [{ name: 'eth0', rx: 1000, tx: 5000 }] };
    const cur = { at: 2000, memoryBytes: 0, networkAt: 3000, interfaces: [{ name: 'eth0', rx: 3000, tx: 4000 }] };
    const row = utilizationRow(prev, cur);
    expect(row.slice(3, 5)).toEqual([1000, 0]);
    expect(rowText(row).split(',')).toHaveLength(64);
  });

  it('the charts are ucviz LineChart packets with the pod limits as axis maxima', () => {
    const pod: V1Pod = { spec: { containers: [{ name: 'user-job', resources: { limits: { cpu: '2', memory: '1Gi' } } }] } };
    const limits = podLimits(pod);
    expect(limits).toEqual({ cpuCores: 2, memoryBytes: 2 ** 30 });
    const lines = chartWidgets(limits, ['eth0'])
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(9);
    expect(lines[0]).toEqual({ action: 0 });
    expect(lines[1]).toEqual({ id: 'cpu', type: 6, location: { window: 0, tab: 'CPU utilization', icon: 2 } });
    expect(lines[2]).toEqual({
      channel: 'utilization-data',
      series: [{ name: 'CPU', column: 1 }],
      xAxis: { unit: 6, minimum: null, maximum: null },
      yAxis: { unit: 3, minimum: 0, maximum: 200 },
      yAxisColumn: 0,
    });
    expect(lines[5].yAxis).toEqual({ unit: 4, minimum: 0, maximum: 2 ** 30 });
    expect(lines[8].series).toEqual([
      { name: 'eth0 receive', column: 3 },
      { name: 'eth0 transmit', column: 4 },
    ]);
  });

  it('a container without a limit leaves that axis open', () => {
    const pod: V1Pod = { spec: { containers: [{ name: 'a', resources: { limits: { cpu: '1' } } }, { name: 'b' }] } };
    expect(podLimits(pod)).toEqual({ cpuCores: undefined, memoryBytes: undefined });
  });

  it('a Summary without the fields read is refused rather than guessed', () => {
    expect(SummarySchema.safeParse({ pods: [{ podRef: { name: 'x' } }] }).success).toBe(false);
    expect(samplePod({ podRef: { name: 'x', namespace: 'n' }, containers: [] })).toBeUndefined();
  });
});

// The hub polls a node only while a follower of a pod on it is subscribed, once per poll however
// many followers it has, and refuses followers beyond its node cap; a follow session subscribes
// only its rank 0, sends IM2's "ui" and "utilization-data" messages, and unsubscribes when it ends.
import type { KubeletStatsPort, PodStats, Summary } from '../../../../src/adapter/follow/kubelet-summary.js';
import type { FollowResponse } from '../../../../src/adapter/follow/protocol.js';
import { SendGate } from '../../../../src/adapter/follow/send-gate.js';
import { FollowSession } from '../../../../src/adapter/follow/session.js';
import { UtilizationHub } from '../../../../src/adapter/follow/utilization-hub.js';
import { JobStore } from '../../../../src/adapter/job-store.js';
import { rootLogger } from '../../../../src/observability/log.js';
import { eventually } from '../../../support/harness.js';
import { FakeKube } from '../../../support/fake-kube.js';
import { job as ucloudJob } from '../../../support/job-factory.js';

const NS = 'ucloud-jobs';

class FakeStats implements KubeletStatsPort {
  readonly calls: string[] = [];
  tick = 0;
  async summary(node: string): Promise<Summary> {
    this.calls.push(node);
    this.tick++;
    return { pods: [this.pod('j-9-0'), this.pod('j-9-1'), this.pod('other')] };
  }
  private pod(name: string): PodStats {
    const time = new Date(Date.UTC(2026, 0, 1, 0, 0, this.tick)).toISOString();
    return {
      podRef: { name, namespace: NS },
      containers: [{ name: 'user-job', cpu: { time, usageNanoCores: 5e8, usageCoreNanoSeconds: this.tick * 1e9 }, memory: { time, workingSetBytes: 1000 } }],
      network: { time, interfaces: [{ name: 'eth0', rxBytes: this.tick * 10, txBytes: 0 }] },
    };
  }
}

const hub = (stats: KubeletStatsPort, maxNodes = 10) => new UtilizationHub({ stats, logger: rootLogger, intervalMs: 5, maxNodes });

describe('UtilizationHub', () => {
  it('polls a node once per round for all its followers, and stops when the last one leaves', async () => {
    const stats = new FakeStats();
    const h = hub(stats);
    const got: string[] = [];
    const a = h.subscribe('n1', NS, 'j-9-0', (p) => got.push(`a:${p.podRef.name}`))!;
    const b = h.subscribe('n1', NS, 'j-9-0', (p) => got.push(`b:${p.podRef.name}`))!;
    await eventually(() => stats.calls.length >= 3, 'three polls');
    expect(new Set(stats.calls)).toEqual(new Set(['n1']));
    expect(h.polledNodes).toBe(1);
    // Every poll reached both followers, with their pod only.
    expect(got.filter((g) => g.startsWith('a:')).length).toBeGreaterThanOrEqual(2);
    expect(got.every((g) => g.endsWith(':j-9-0'))).toBe(true);
    a();
    expect(h.polledNodes).toBe(1);
    b();
    expect(h.polledNodes).toBe(0);
    const after = stats.calls.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(stats.calls.length).toBeLessThanOrEqual(after + 1);
  });

  it('refuses a follower on a new node beyond the cap, and never polls without followers', async () => {
    const stats = new FakeStats();
    const h = hub(stats, 1);
    expect(h.polledNodes).toBe(0);
    expect(stats.calls).toHaveLength(0);
    const a = h.subscribe('n1', NS, 'x', () => undefined)!;
    expect(h.subscribe('n2', NS, 'y', () => undefined)).toBeUndefined();
    expect(h.subscribe('n1', NS, 'z', () => undefined)).toBeDefined();
    h.stop();
    expect(h.polledNodes).toBe(0);
    a();
  });
});

describe('FollowSession with utilization', () => {
  it('sends charts and rows for rank 0 only, and unsubscribes when it ends', async () => {
    const kube = new FakeKube();
    const job = ucloudJob({ jobId: '9', replicas: 2 }, 'uid-9', NS);
    kube.seed('UCloudJob', job);
    for (let r = 0; r < 2; r++) {
      kube.seed('Pod', {
        metadata: { name: `j-9-${r}`, namespace: NS },
        spec: { nodeName: 'n1', containers: [{ name: 'user-job', resources: { limits: { cpu: '1', memory: '1G' } } }] },
        status: { phase: 'Running' },
      });
    }
    const stats = new FakeStats();
    const h = hub(stats);
    const gate = new SendGate({ bufferedAmount: 0, readyState: 1, send: () => undefined });
    const logs = { open: () => new Promise<never>(() => undefined) };
    const session = new FollowSession(
      job,
      gate,
      { kube, jobs: new JobStore(kube, NS), namespace: NS, logs, logger: rootLogger, pollMs: 10, utilization: h },
      () => undefined,
    );
    const messages: FollowResponse[] = [];
    session.onMessage = (m) => messages.push(m);
    session.start();
    await eventually(() => messages.filter((m) => m.channel === 'utilization-data').length >= 2, 'two rows');
    expect(messages.every((m) => m.rank === 0 && m.streamId === session.id)).toBe(true);
    expect(messages.filter((m) => m.channel === 'ui')).toHaveLength(1);
    const second = messages
      .filter((m) => m.channel === 'utilization-data')[1]!
      .stdout!.split(',')
      .map(Number);
    expect(second[1]).toBe(100); // one core-second per second
    expect(h.polledNodes).toBe(1);
    session.stop('cancelled');
    expect(h.polledNodes).toBe(0);
  });
});

// The capacity cache behind retrieveProducts' queueStatus (ADR 0023): nodes listed at most once per
// interval, the last list kept through a failed refresh, nothing sent before there is anything to
// judge by, and a changed pod set seen at the next call.
import { KubeConfig, type V1Node } from '@kubernetes/client-node';
import { CapacityCache, type CachedUsage, type PodUsageSource } from '../../../src/adapter/capacity.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { rootLogger } from '../../../src/observability/log.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';

const config = unitConfig({ products: [{ id: 'c-8', category: 'c', cpu: 8, memoryInGigs: 32 }] });

const node = (name: string): V1Node => ({
  metadata: { name, labels: { 'ucloud.dk/machine': 'c' } },
  status: { capacity: { cpu: '8', memory: '32Gi' }, allocatable: { cpu: '8', memory: '32Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
});

/** A pod source the test fills; changes notify like an informer's. */
class Pods implements PodUsageSource {
  hasSynced = false;
  private items: CachedUsage[] = [];
  private handlers: Array<() => void> = [];
  list = () => this.items;
  onChange = (h: () => void) => void this.handlers.push(h);
  start = async () => undefined;
  stop = async () => undefined;
  set(items: Array<{ nodeName: string; cpu: number }>): void {
    this.items = items.map((p, i) => ({ metadata: { name: `p${i}`, namespace: 'ns' }, nodeName: p.nodeName, requests: { cpu: p.cpu, memory: 0 } }));
    this.hasSynced = true;
    for (const h of this.handlers) h();
  }
}

function harness() {
  const kube = new FakeKube();
  const pods = new Pods();
  const clock = { now: 1_000_000 };
  const cache = new CapacityCache({
    kc: new KubeConfig(),
    kube,
    config,
    logger: rootLogger.child({ test: 'capacity' }),
    pods,
    nodeRefreshMs: 10_000,
    now: () => clock.now,
  });
  const nodeLists = () => kube.calls.filter((c) => c.kind === 'Node' && c.op === 'list').length;
  const status = async () => (await cache.queueStatuses())?.get('c-8');
  return { kube, pods, clock, cache, nodeLists, status };
}

describe('the capacity cache', () => {
  it('answers nothing until the pod watch has listed, then from both caches', async () => {
    const h = harness();
    h.kube.seed('Node', node('a'));
    h.kube.seed('Node', node('b'));
    expect(await h.status()).toBeUndefined();
    h.pods.set([]);
    expect(await h.status()).toBe('AVAILABLE');
    // A pod bound to a node is seen at once (its watch event), without another node list.
    h.pods.set([{ nodeName: 'a', cpu: 7496 }]);
    expect(await h.status()).toBe('BUSY');
    expect(h.nodeLists()).toBe(1);
  });

  it('lists nodes at most once per interval, and sees a new node after it', async () => {
    const h = harness();
    h.kube.seed('Node', node('a'));
    h.pods.set([]);
    expect(await h.status()).toBe('BUSY');
    h.kube.seed('Node', node('b'));
    for (let i = 0; i < 5; i++) expect(await h.status()).toBe('BUSY');
    expect(h.nodeLists()).toBe(1);
    h.clock.now += 10_000;
    await h.status(); // starts the refresh, answers from the last list
    expect(await h.status()).toBe('AVAILABLE');
    expect(h.nodeLists()).toBe(2);
  });

  it('keeps the last node list through a failed refresh, and sends nothing while it never had one', async () => {
    const h = harness();
    h.pods.set([]);
    h.kube.failNext('Node.list', new KubeError(403, 'Forbidden', 'nodes is forbidden'));
    expect(await h.status()).toBeUndefined();
    // Not retried on every poll: only after the interval.
    expect(await h.status()).toBeUndefined();
    expect(h.nodeLists()).toBe(1);
    h.kube.seed('Node', node('a'));
    h.clock.now += 10_000;
    expect(await h.status()).toBe('BUSY');
    h.kube.failNext('Node.list', new KubeError(503, 'ServiceUnavailable', 'down'));
    h.clock.now += 10_000;
    await h.status();
    expect(await h.status()).toBe('BUSY');
    expect(h.nodeLists()).toBe(3);
  });
});

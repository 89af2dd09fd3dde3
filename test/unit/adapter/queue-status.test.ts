// retrieveProducts' queueStatus as IM2 decides it (monitoring.go: one and two ranks placed dry on
// the category's nodes; scheduler.go trySchedule), over nodes and job pods given as data.
import type { V1Node } from '@kubernetes/client-node';
import { capacityConfig, testNode as node } from '../../support/nodes.js';
import { podUsage } from '../../../src/adapter/capacity.js';
import { computeSupport } from '../../../src/adapter/products.js';
import { queueStatuses, type PodUsage } from '../../../src/adapter/queue-status.js';
import { unitConfig } from '../../support/config.js';

const config = capacityConfig;
// The pods of the products above as the pod builder sizes them (63488 m per 64 cores, GB).
const using = (nodeName: string, cpuMillis: number, memoryBytes: number, extra: Record<string, number> = {}): PodUsage => ({
  nodeName,
  requests: { cpu: cpuMillis, memory: memoryBytes, ...extra },
});
const whole = (n: string) => using(n, 63488, 256e9);
const half = (n: string) => using(n, 31744, 128e9);

const statuses = (nodes: V1Node[], pods: PodUsage[], cfg = config) => Object.fromEntries(queueStatuses(cfg, nodes, pods));

describe('queue status per product', () => {
  it.each([
    ['two empty nodes: everything fits twice', [node('a'), node('b')], [], { 'c-64': 'AVAILABLE', 'c-32': 'AVAILABLE', 'c-1': 'AVAILABLE' }],
    ['one empty node: the whole-node product once, smaller ones twice', [node('a')], [], { 'c-64': 'BUSY', 'c-32': 'AVAILABLE', 'c-1': 'AVAILABLE' }],
    ['one node, half used', [node('a')], [half('a')], { 'c-64': 'FULL', 'c-32': 'BUSY', 'c-1': 'AVAILABLE' }],
    ['both nodes full', [node('a'), node('b')], [whole('a'), whole('b')], { 'c-64': 'FULL', 'c-32': 'FULL', 'c-1': 'FULL' }],
    ['a pod on another category node does not count', [node('a'), node('x', { category: 'other' })], [whole('x')], { 'c-64': 'BUSY' }],
    ['a node that is not Ready takes nothing', [node('a'), node('b', { ready: false })], [], { 'c-64': 'BUSY' }],
    ['nor one under memory pressure', [node('a'), node('b', { pressure: 'MemoryPressure' })], [], { 'c-64': 'BUSY' }],
    ['nor a cordoned one', [node('a'), node('b', { cordoned: true })], [], { 'c-64': 'BUSY' }],
    ['nor one with a taint the category does not tolerate', [node('a'), node('b', { taint: 'dedicated' })], [], { 'c-64': 'BUSY' }],
    ['no node at all', [], [], { 'c-64': 'FULL', 'c-1': 'FULL' }],
    // The node's reserve is counted on top of the pods: 64 cores minus 500 m leaves 63.5 cores.
    ['the reserve: 63488 m fits next to it, a second pod of 1 core does not', [node('a')], [using('a', 63000, 0)], { 'c-1': 'FULL' }],
    // What the pods use must stay within the allocatable (IM2's limits), not only the capacity.
    [
      'allocatable well below capacity',
      [node('a', { allocatableCpu: '60' }), node('b', { allocatableCpu: '60' })],
      [],
      { 'c-64': 'FULL', 'c-32': 'AVAILABLE' },
    ],
    // The kubelet keeping back 500 m: the scheduler places 63488 m in 63500 m, and the reserve is
    // not counted against the allocatable a second time (IM2 would call this FULL).
    ['a kubelet reservation of 500 m', [node('a', { allocatableCpu: '63500m' })], [], { 'c-64': 'BUSY' }],
  ])('%s', (_name, nodes, pods, expected) => {
    expect(statuses(nodes, pods)).toMatchObject(expected);
  });

  it('counts GPUs as the category names them', () => {
    const gpuConfig = unitConfig({ products: config.products, categories: { g: { gpuResource: 'nvidia.com/mig-1g.10gb' } } });
    const gpuNode = (gpus: Record<string, string>) => node('n', { category: 'g', gpus });
    expect(statuses([gpuNode({ 'nvidia.com/mig-1g.10gb': '2' })], [], gpuConfig)['g-1']).toBe('AVAILABLE');
    expect(statuses([gpuNode({ 'nvidia.com/mig-1g.10gb': '2' })], [using('n', 0, 0, { 'nvidia.com/mig-1g.10gb': 1 })], gpuConfig)['g-1']).toBe('BUSY');
    // A node with whole GPUs has none of the slices this category asks for.
    expect(statuses([gpuNode({ 'nvidia.com/gpu': '8' })], [], gpuConfig)['g-1']).toBe('FULL');
  });

  it('tolerates the taints the category tolerates', () => {
    const tolerant = unitConfig({
      products: config.products,
      categories: { c: { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] } },
    });
    expect(statuses([node('a', { taint: 'dedicated' }), node('b', { taint: 'dedicated' })], [], tolerant)['c-64']).toBe('AVAILABLE');
  });

  it('is sent with each product by retrieveProducts, and left out when there is none to send', () => {
    const queue = queueStatuses(config, [node('a')], []);
    expect(computeSupport(config, undefined, queue).responses.map((r) => [r.product.id, r.queueStatus])).toEqual([
      ['c-64', 'BUSY'],
      ['c-32', 'AVAILABLE'],
      ['c-1', 'AVAILABLE'],
      ['g-1', 'FULL'],
    ]);
    expect(computeSupport(config).responses.every((r) => !('queueStatus' in r))).toBe(true);
  });
});

describe('a job pod as the queue status counts it', () => {
  const pod = (phase: string, nodeName: string | undefined, spec: Record<string, unknown>) =>
    podUsage({ metadata: { name: 'p', namespace: 'ns', resourceVersion: '1' }, spec: { nodeName, ...spec }, status: { phase } });
  const c = (requests: Record<string, string>) => ({ name: 'x', resources: { requests } });

  it('sums its containers, takes an init container when larger, and adds the overhead', () => {
    const usage = pod('Running', 'n', {
      containers: [c({ cpu: '937m', memory: '2G', 'ephemeral-storage': '20Gi' }), c({ cpu: '100m', 'nvidia.com/gpu': '1' })],
      initContainers: [c({ cpu: '2', memory: '64Mi' })],
      overhead: { cpu: '250m' },
    });
    expect(usage).toMatchObject({ nodeName: 'n', requests: { cpu: 2250, memory: 2e9, 'nvidia.com/gpu': 1 } });
    expect(usage.requests['ephemeral-storage']).toBeUndefined();
  });

  it.each([
    ['not bound to a node', 'Pending', undefined],
    ['finished', 'Succeeded', 'n'],
    ['failed', 'Failed', 'n'],
  ])('counts nothing for a pod %s', (_name, phase, nodeName) => {
    expect(pod(phase, nodeName, { containers: [c({ cpu: '8' })] })).toMatchObject({ nodeName: '', requests: {} });
  });
});

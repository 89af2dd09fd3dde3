import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { categoryNodeSelector, computeUtilization, parseQuantity, podRequest } from '../../../src/adapter/utilization.js';
import { unitConfig } from '../../support/config.js';

const node = (name: string, cpu: string, memory: string, opts: { ready?: boolean; unschedulable?: boolean } = {}): V1Node => ({
  metadata: { name },
  spec: { unschedulable: opts.unschedulable },
  status: { allocatable: { cpu, memory }, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
});
const pod = (nodeName: string | undefined, phase: string, containers: Array<Record<string, string>>, init: Array<Record<string, string>> = []): V1Pod => ({
  metadata: { name: 'p' },
  spec: {
    nodeName,
    containers: containers.map((requests, i) => ({ name: `c${i}`, resources: { requests } })),
    initContainers: init.map((requests, i) => ({ name: `i${i}`, resources: { requests } })),
  },
  status: { phase },
});

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['16Gi', 16 * 2 ** 30],
    ['1k', 1000],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['123Mi', 123 * 2 ** 20],
    ['100n', 1e-7],
  ])('%s = %d', (q, v) => expect(parseQuantity(q)).toBeCloseTo(v, 12));
  it('rejects what is not a quantity', () => {
    expect(parseQuantity('12 cores')).toBeUndefined();
    expect(parseQuantity('Gi')).toBeUndefined();
  });
});

describe('computeUtilization', () => {
  it('sums usable nodes and the effective requests of running pods on them', () => {
    const nodes = [
      node('a', '64', '256Gi'),
      node('b', '3500m', '1Gi'),
      node('sick', '64', '256Gi', { ready: false }),
      node('cordoned', '64', '256Gi', { unschedulable: true }),
    ];
    const pods = [
      pod('a', 'Running', [
        { cpu: '1', memory: '4Gi' },
        { cpu: '250m', memory: '512Mi' },
      ]),
      // An init container larger than the containers sets the pod's request.
      pod('b', 'Running', [{ cpu: '100m', memory: '1Gi' }], [{ cpu: '2', memory: '1Gi' }]),
      pod('a', 'Pending', [{ cpu: '8' }]),
      pod('a', 'Succeeded', [{ cpu: '8' }]),
      pod('sick', 'Running', [{ cpu: '8' }]),
      pod(undefined, 'Pending', [{ cpu: '8' }]),
    ];
    const jobs = [
      { spec: { product: { category: 'c' } }, status: { state: 'RUNNING' } },
      { spec: { product: { category: 'c' } }, status: { state: 'IN_QUEUE' } },
      { spec: { product: { category: 'c' } } },
      { spec: { product: { category: 'c' } }, status: { state: 'SUCCESS' } },
      { spec: { product: { category: 'other' } }, status: { state: 'RUNNING' } },
      null,
    ];
    expect(computeUtilization(nodes, pods, jobs, 'c')).toEqual({
      capacity: { cpu: 67.5, memory: 257 * 2 ** 30 },
      usedCapacity: { cpu: 3.25, memory: 4 * 2 ** 30 + 512 * 2 ** 20 + 2 ** 30 },
      queueStatus: { running: 1, pending: 2 },
    });
    expect(podRequest(pods[1]!, 'cpu')).toBe(2);
  });

  it("selects a category's nodes as the pods do: machine label plus the category's nodeSelector", () => {
    const config = unitConfig({ categories: { gpu: { nodeSelector: { 'nvidia.com/gpu.product': 'A100' } } } });
    expect(categoryNodeSelector(config, 'gpu')).toEqual({ 'ucloud.dk/machine': 'gpu', 'nvidia.com/gpu.product': 'A100' });
    expect(categoryNodeSelector(unitConfig({ useMachineSelector: false }), 'cpu')).toEqual({});
  });
});

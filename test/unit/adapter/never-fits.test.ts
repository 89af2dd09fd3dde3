// Whether a job's ranks can ever be placed: IM2's trySchedule (scheduler.go) over the category's
// nodes as if they were empty, with the pod builder's sizing (GB, the CPU reserve; ADR 0023).
import { neverFitsReason } from '../../../src/adapter/never-fits.js';
import { capacityConfig, testNode as node } from '../../support/nodes.js';

const config = capacityConfig;
const product = (id: string) => {
  const p = config.products.find((x) => x.id === id)!;
  return { id: p.id, category: p.category, cpu: p.cpu, memoryInGigs: p.memoryInGigs ?? 0, gpu: p.gpu ?? 0 };
};
const reason = (id: string, replicas: number, nodes = [node('a'), node('b')], cfg = config) => neverFitsReason(product(id), replicas, cfg, nodes);

describe('a job that can never be placed', () => {
  it.each([
    ['a whole-node product, one rank per node', 'c-64', 2],
    ['half-node ranks, two per node', 'c-32', 4],
    ['small ranks, many per node', 'c-1', 100],
  ])('fits when the empty nodes hold every rank: %s', (_, id, replicas) => {
    expect(reason(id, replicas)).toBeUndefined();
  });

  it('is refused when its ranks together need more whole nodes than the category has', () => {
    expect(reason('c-64', 3)).toBe(
      'product c-64 can never run 3 ranks at once here: the 2 nodes of category c hold at most 2 of its ranks together, even when empty',
    );
    expect(reason('c-32', 5)).toMatch(/hold at most 4 of its ranks together/);
  });

  it('is refused when one rank is larger than any node, saying what a rank needs', () => {
    const small = [node('a', { cpu: '32', memory: '128Gi' })];
    expect(reason('c-64', 1, small)).toBe(
      'product c-64 can never run here: one rank needs 63.488 CPU, 256 GB memory, more than any of the 1 node of category c has (after the 500m CPU a node keeps for itself)',
    );
  });

  it('counts memory in GB as the pod builder does: 256 GB (238.4 GiB) fits a node of 240 GiB, not one of 200 GiB', () => {
    expect(reason('c-64', 1, [node('a', { memory: '200Gi' })])).toMatch(/can never run here/);
    expect(reason('c-64', 1, [node('a', { memory: '240Gi' })])).toBeUndefined();
  });

  it('names a missing GPU resource: a GPU product on nodes without GPUs never fits', () => {
    expect(reason('g-1', 1, [node('a', { category: 'g' })])).toMatch(/one rank needs 7\.496 CPU, 32 GB memory, 1 nvidia.com\/gpu/);
    expect(reason('g-1', 1, [node('a', { category: 'g', gpus: { 'nvidia.com/gpu': '1' } })])).toBeUndefined();
  });

  it('leaves out nodes of other categories and nodes whose taint the category does not tolerate', () => {
    expect(reason('c-64', 2, [node('a'), node('b', { category: 'other' })])).toMatch(/the 1 node of category c hold at most 1/);
    expect(reason('c-64', 2, [node('a'), node('b', { taint: 'dedicated' })])).toMatch(/hold at most 1/);
  });

  it('still counts nodes that are cordoned, not Ready or under pressure: that passes', () => {
    const passing = [node('a', { cordoned: true }), node('b', { ready: false }), node('c', { pressure: 'MemoryPressure' })];
    expect(reason('c-64', 3, passing)).toBeUndefined();
  });

  it('refuses nothing for a category with no node at all (nodes may be joining, or an autoscaler adds them)', () => {
    expect(reason('c-64', 50, [node('x', { category: 'other' })])).toBeUndefined();
    expect(reason('c-64', 50, [])).toBeUndefined();
  });
});

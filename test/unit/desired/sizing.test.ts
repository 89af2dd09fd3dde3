// Product sizing (ADR 0023): IM2's rule by default, this operator's earlier rule on request, and
// the per-category GPU resource and RuntimeClass.
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { productResources, rankDimensions, reservedMillisPerCore } from '../../../src/controller/desired/sizing.js';
import { unitConfig } from '../../support/config.js';
import { gpuJob, job } from '../../support/job-factory.js';

const full = (cpu: number, memoryInGigs: number, gpu = 0) => ({ id: `c-${cpu}`, category: 'c', cpu, memoryInGigs, gpu });

describe('product sizing', () => {
  // IM2: shared/configuration.go NodeCpuMillisNormalizedWithReserved, shared/scheduler.go JobDimensionsFromProductOnly.
  it.each([
    // [products of category c, sizing, product, [cpu request, cpu limit, memory]]
    ['IM2 default, largest 64 cores', [full(64, 256), full(1, 4)], {}, full(64, 256), ['63488m', '64', '256G']],
    ['IM2 default, one core of that category', [full(64, 256), full(1, 4)], {}, full(1, 4), ['992m', '1', '4G']],
    ['IM2 default, a single 1-core product keeps half a core', [full(1, 1)], {}, full(1, 1), ['500m', '1', '1G']],
    ['no reserve, GiB: requests = limits as before', [full(64, 256)], { memoryUnit: 'GiB', systemReservedCpuMillis: 0 }, full(64, 256), ['64', '64', '256Gi']],
    ['a 1000 m reserve over 4 cores', [full(4, 16)], { systemReservedCpuMillis: 1000 }, full(4, 16), ['3', '4', '16G']],
  ])('%s', (_name, products, sizing, product, [cpuRequest, cpuLimit, memory]) => {
    const config = unitConfig({ products, jobs: { sizing } });
    const { requests, limits } = productResources(product, config);
    expect(requests).toEqual({ cpu: cpuRequest, memory });
    expect(limits).toEqual({ cpu: cpuLimit, memory });
  });

  it('counts memory in GB by default, in GiB when the site says so', () => {
    const products = [full(8, 32)];
    expect(rankDimensions(full(8, 32), unitConfig({ products })).memoryBytes).toBe(32e9);
    expect(rankDimensions(full(8, 32), unitConfig({ products, jobs: { sizing: { memoryUnit: 'GiB' } } })).memoryBytes).toBe(32 * 2 ** 30);
  });

  it('takes a category reserve over the site default', () => {
    const products = [full(10, 10)];
    expect(reservedMillisPerCore('c', unitConfig({ products }))).toBe(50);
    expect(reservedMillisPerCore('c', unitConfig({ products, categories: { c: { systemReservedCpuMillis: 2000 } } }))).toBe(200);
  });

  it('leaves out what the product does not have', () => {
    expect(productResources({ category: 'c', cpu: 0, memoryInGigs: 0, gpu: 0 }, unitConfig({ products: [full(1, 1)] }))).toEqual({ requests: {}, limits: {} });
  });

  it('sizes /dev/shm in the same unit as the memory limit', () => {
    const shm = (config: ReturnType<typeof unitConfig>) => buildPod(job(), 0, config).spec?.volumes?.find((v) => v.name === 'dshm')?.emptyDir?.sizeLimit;
    expect(shm(unitConfig())).toBe('2G');
    expect(shm(unitConfig({ jobs: { sizing: { memoryUnit: 'GiB' } } }))).toBe('2Gi');
  });
});

describe('per-category GPU resource and RuntimeClass', () => {
  // IM2: containers/job_builder.go (nodeCat.GpuResourceType, nodeCat.CustomRuntime).
  it('requests GPUs as nvidia.com/gpu and sets no RuntimeClass unless the category says otherwise', () => {
    const pod = buildPod(gpuJob(), 0, unitConfig());
    expect(pod.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(pod.spec?.runtimeClassName).toBeUndefined();
  });

  it("requests the category's GPU resource (a MIG slice) under its RuntimeClass", () => {
    const config = unitConfig({ categories: { 'u1-gpu': { gpuResource: 'nvidia.com/mig-1g.10gb', runtimeClassName: 'nvidia' } } });
    const pod = buildPod(gpuJob(), 0, config);
    const { requests, limits } = pod.spec!.containers[0]!.resources!;
    expect(requests?.['nvidia.com/mig-1g.10gb']).toBe('1');
    expect(limits?.['nvidia.com/mig-1g.10gb']).toBe('1');
    expect(requests?.['nvidia.com/gpu']).toBeUndefined();
    expect(pod.spec?.runtimeClassName).toBe('nvidia');
  });

  it('keeps a GPU-less product GPU-less whatever the category runs', () => {
    const config = unitConfig({ categories: { 'example-compute': { gpuResource: 'amd.com/gpu', runtimeClassName: 'kata' } } });
    const pod = buildPod(job(), 0, config);
    expect(Object.keys(pod.spec!.containers[0]!.resources!.limits!)).not.toContain('amd.com/gpu');
    expect(pod.spec?.runtimeClassName).toBe('kata');
  });

  it.each([['nvidia.com/gpu$(x)'], ['../gpu'], ['a b']])('refuses the GPU resource name %j in the configuration', (name) => {
    expect(() => unitConfig({ categories: { g: { gpuResource: name } } })).toThrow(/gpuResource/);
  });
});

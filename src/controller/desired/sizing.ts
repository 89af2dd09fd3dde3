// A product (cpu, memoryInGigs, gpu) as the resources of one rank, and the same numbers as the
// queue status compares them with what a node has left (docs/adr/0023). One rule for both, so a
// product the queue status calls AVAILABLE is one whose pod the scheduler can place.
//
// IM2's rule, which the defaults follow (provider-integration/im2/pkg/integrations/k8s/shared/
// configuration.go NodeCpuMillisNormalizedWithReserved / SystemReservedCpuMillisForCategory,
// shared/scheduler.go JobDimensionsFromProductOnly, containers/job_builder.go):
//   - memory is MemoryInGigs GB (10^9 bytes), requests = limits;
//   - the node keeps systemReservedCpuMillis (500 m) for itself. Each core of a product gives up
//     its share of that, ceil(reserved / largest product cpu of the category), in its CPU request;
//     the limit is the whole cpu. A product the size of the node then still fits next to the
//     reserve, where a request of the whole cpu never would;
//   - GPUs as the category's resource name (nvidia.com/gpu unless the category names another).
// `jobs.sizing: {memoryUnit: GiB, systemReservedCpuMillis: 0}` gives this operator's earlier rule
// (requests = limits = cpu cores and GiB).
import type { OperatorConfig } from '../../config.js';

export const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';

export interface ProductShape {
  category: string;
  cpu: number;
  memoryInGigs: number;
  gpu: number;
}

/** What one rank of a product asks the scheduler for. Zero means "not part of the product". */
export interface RankDimensions {
  cpuRequestMillis: number;
  cpuLimitMillis: number;
  memoryBytes: number;
  gpuResource: string;
  gpu: number;
}

const BYTES_PER = { GB: 1e9, GiB: 2 ** 30 } as const;

/** The CPU a category's nodes keep for themselves (IM2's SystemReservedCpuMillisForCategory). */
export function systemReservedCpuMillis(category: string, config: OperatorConfig): number {
  return config.categories[category]?.systemReservedCpuMillis ?? config.jobs.sizing.systemReservedCpuMillis;
}

/** Each product core's share of the reserve: spread over the largest product of the category. */
export function reservedMillisPerCore(category: string, config: OperatorConfig): number {
  const reserved = systemReservedCpuMillis(category, config);
  const largest = Math.max(0, ...config.products.filter((p) => p.category === category).map((p) => p.cpu));
  return largest > 0 ? Math.ceil(reserved / largest) : 0;
}

export function gpuResourceOf(category: string, config: OperatorConfig): string {
  return config.categories[category]?.gpuResource ?? DEFAULT_GPU_RESOURCE;
}

export function rankDimensions(product: ProductShape, config: OperatorConfig): RankDimensions {
  const perCore = reservedMillisPerCore(product.category, config);
  return {
    cpuRequestMillis: Math.max(0, Math.floor(product.cpu * (1000 - perCore))),
    cpuLimitMillis: product.cpu * 1000,
    memoryBytes: product.memoryInGigs * BYTES_PER[config.jobs.sizing.memoryUnit],
    gpuResource: gpuResourceOf(product.category, config),
    gpu: product.gpu,
  };
}

const cpuQuantity = (millis: number): string => (millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`);

/** The memory of a product as a quantity: "16G" or "16Gi", as jobs.sizing.memoryUnit says. */
export function memoryQuantity(memoryInGigs: number, config: OperatorConfig): string {
  return `${memoryInGigs}${config.jobs.sizing.memoryUnit === 'GB' ? 'G' : 'Gi'}`;
}

/** The user container's requests and limits for a product (ephemeral storage is added by the caller). */
export function productResources(product: ProductShape, config: OperatorConfig): { requests: Record<string, string>; limits: Record<string, string> } {
  const d = rankDimensions(product, config);
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (product.cpu > 0) {
    requests.cpu = cpuQuantity(d.cpuRequestMillis);
    limits.cpu = cpuQuantity(d.cpuLimitMillis);
  }
  if (product.memoryInGigs > 0) requests.memory = limits.memory = memoryQuantity(product.memoryInGigs, config);
  if (product.gpu > 0) requests[d.gpuResource] = limits[d.gpuResource] = String(product.gpu);
  return { requests, limits };
}

// retrieveProducts: one ComputeSupport per configured product. Container ("docker") jobs only,
// with exactly the flags the adapter serves (features.ts); every other backend is null (= not
// supported). `queueStatus` says how busy the product is now (queue-status.ts); it is left out
// only while the adapter has no capacity to judge by yet.
import type { OperatorConfig } from '../config.js';
import { SUPPORTED_FEATURES, type DockerFeatures } from './features.js';
import type { JobQueueStatus } from './queue-status.js';

export interface ComputeSupport {
  product: { id: string; category: string; provider: string };
  docker: { enabled: boolean } & DockerFeatures;
  virtualMachine: Record<'enabled' | 'logs' | 'vnc' | 'terminal' | 'timeExtension' | 'suspension' | 'utilization', null>;
  native: Record<'enabled' | 'logs' | 'vnc' | 'terminal' | 'timeExtension' | 'utilization' | 'web', null>;
  maintenance: null;
  queueStatus?: JobQueueStatus;
}

export function computeSupport(
  config: OperatorConfig,
  features: DockerFeatures = { ...SUPPORTED_FEATURES },
  queue?: ReadonlyMap<string, JobQueueStatus>,
): { responses: ComputeSupport[] } {
  const off = { enabled: null, logs: null, vnc: null, terminal: null, timeExtension: null, utilization: null };
  return {
    responses: config.products.map((p) => ({
      product: { id: p.id, category: p.category, provider: config.providerId },
      docker: { enabled: true, ...features },
      virtualMachine: { ...off, suspension: null },
      native: { ...off, web: null },
      maintenance: null,
      ...(queue?.has(p.id) ? { queueStatus: queue.get(p.id) } : {}),
    })),
  };
}

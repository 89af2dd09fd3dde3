// retrieveProducts: one ComputeSupport per configured product. Container ("docker") jobs only,
// with exactly the flags the adapter serves (features.ts); every other backend is null (= not
// supported).
import type { OperatorConfig } from '../config.js';
import { SUPPORTED_FEATURES, type DockerFeatures } from './features.js';

export interface ComputeSupport {
  product: { id: string; category: string; provider: string };
  docker: { enabled: boolean } & DockerFeatures;
  virtualMachine: Record<'enabled' | 'logs' | 'vnc' | 'terminal' | 'timeExtension' | 'suspension' | 'utilization', null>;
  native: Record<'enabled' | 'logs' | 'vnc' | 'terminal' | 'timeExtension' | 'utilization' | 'web', null>;
  maintenance: null;
}

export function computeSupport(config: OperatorConfig, features: DockerFeatures = { ...SUPPORTED_FEATURES }): { responses: ComputeSupport[] } {
  const off = { enabled: null, logs: null, vnc: null, terminal: null, timeExtension: null, utilization: null };
  return {
    responses: config.products.map((p) => ({
      product: { id: p.id, category: p.category, provider: config.providerId },
      docker: { enabled: true, ...features },
      virtualMachine: { ...off, suspension: null },
      native: { ...off, web: null },
      maintenance: null,
    })),
  };
}

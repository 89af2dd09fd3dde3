// The calls today's UCloud/Core (core2) makes besides jobs: the provider-integration calls
// (`/ucloud/{id}/integration/...`, shared/pkg/orchestrators/provider_integration.go), the
// requestDynamicParameters call of job submission, and the polls of core2's feature monitor.
//
// Connection: this provider maps no UCloud user to a local identity, so every user may use it at
// once. The manifest says so with enabled:false; core2 then lists every user as connected
// (core2/pkg/orchestrator/provider_integration.go, ProviderIntegrationBrowse:
// `isConnected := ... || (ok && !manifest.Enabled)`) and never asks them to connect. With
// enabled:true the UI keeps Submit disabled until the user has connected.
import type { OperatorConfig } from '../config.js';
import { DynamicParametersSchema, FindByUserSchema, parseBody } from './schemas.js';

/** ProviderIntegrationManifest: no connection needed; expireAfterMs is an Option, null when absent. */
export function manifest(): { enabled: false; expireAfterMs: null } {
  return { enabled: false, expireAfterMs: null };
}

/**
 * connect: core2 forwards `{redirectTo}` to the user's browser. There is nothing to set up per
 * user, so the answer sends them straight back to UCloud, as IM2's Kubernetes integration does
 * (im2/pkg/integrations/k8s/00_module.go, Connections.Initiate). core2 calls it only for a user it
 * does not count as connected, which with our manifest is a Core that read an older manifest.
 */
export function connect(body: unknown, config: OperatorConfig): { redirectTo: string } {
  parseBody(FindByUserSchema, body);
  return { redirectTo: config.ucloud.publicUrl ?? config.ucloud.coreUrl };
}

/** unlinked: core2's clearConnection tells the provider a user disconnected; nothing is kept per user. */
export function unlinked(body: unknown): Record<string, never> {
  parseBody(FindByUserSchema, body);
  return {};
}

/**
 * requestDynamicParameters: core2 asks when a submission names a parameter the application does
 * not declare (job.go, jobsValidateForSubmission) and when the UI builds its form. IM2's
 * containers answer their ucMetricSampleRate enumeration (im2/.../containers/00_module.go); this
 * provider samples no metrics, so it adds none, and core2 then refuses such a parameter itself.
 */
export function requestDynamicParameters(body: unknown): { parameters: [] } {
  parseBody(DynamicParametersSchema, body);
  return { parameters: [] };
}

/**
 * retrieveProducts of resource types this provider does not offer. core2's featureMonitorProvider
 * (core2/pkg/orchestrator/features.go) polls drives, jobs, ingresses, public IPs, licenses and
 * private networks every 10 s; an empty answer registers no product (a 404 is also ignored, but
 * counts as an error at Core and in our metrics every time).
 */
export function noProducts(): { responses: [] } {
  return { responses: [] };
}

/**
 * ProviderBranding (shared/pkg/orchestrators/provider_metadata.go), polled every 10 s by core2's
 * brandingMonitorProvider (provider_brandings.go): the provider's id as its title, nothing more.
 */
export function branding(config: OperatorConfig): Record<string, unknown> {
  return {
    id: config.providerId,
    title: config.providerId,
    shortTitle: config.providerId,
    shortDescription: '',
    description: '',
    url: '',
    logo: null,
    sections: [],
    productDescription: [],
  };
}

// How a job whose application asks for root runs (docs/adr/0017). core2 marks every application
// `container.runAsRoot` (core2/pkg/orchestrator/app_yaml.go, app_yaml_legacy.go), so "asks for
// root" says little; the site decides what it buys. IM2 turns it into RunAsNonRoot=false and
// AllowPrivilegeEscalation=true on the user container and sets nothing else: the image's user, the
// runtime's default capabilities (provider-integration/im2/pkg/integrations/k8s/containers/
// job_builder.go). That needs the namespace's Pod Security level `baseline`; everything else here
// passes `restricted`.
import type { V1SecurityContext } from '@kubernetes/client-node';
import type { RootProfile } from '../../config.js';

/** The Pod Security Admission level the jobs namespace needs for the profile's pods. */
export const podSecurityLevel = (profile: RootProfile): 'restricted' | 'baseline' => (profile === 'non-root' ? 'restricted' : 'baseline');

/** The user container's securityContext: hardened unless the job runs as root under `im2`. */
export function containerSecurityContext(runAsRoot: boolean, profile: RootProfile): V1SecurityContext {
  if (runAsRoot && profile === 'im2') return { allowPrivilegeEscalation: true, privileged: false };
  return { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } };
}

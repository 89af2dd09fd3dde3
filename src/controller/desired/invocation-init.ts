// The pieces a v2 (jinja) application adds to each rank's pod: an init container running the
// operator's own image (src/render-invocation/main.ts) that renders the template from the job's
// ConfigMap into a script on a per-pod emptyDir, which the user container then runs. The template
// is user text, so it is rendered here, in the job's pod, as IM2 does ("script-generation" in
// provider-integration/im2/pkg/integrations/k8s/containers/invocation.go), never in the operator.
import type { V1ConfigMap, V1Container, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { configMapName } from '../../api/v1alpha1/names.js';
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { INPUT_DIR, SCRIPT_DIR, SCRIPT_PATH, TEMPLATE_FILE, TEMPLATE_KEY, VALUES_FILE, VALUES_KEY } from '../../render-invocation/layout.js';

export const RENDER_CONTAINER = 'render-invocation';
const INPUT_VOLUME = 'invocation-input';
const SCRIPT_VOLUME = 'invocation-script';
// Rendering is one short node process; requests equal limits so the pod keeps its QoS class.
const RENDER_RESOURCES = { cpu: '250m', memory: '256Mi' };
// A template can loop; a script larger than this fails the init container rather than the node.
const SCRIPT_SIZE_LIMIT = '64Mi';

/** The ConfigMap keys a jinja job adds to its `-etc` ConfigMap (none for other jobs). */
export function invocationFiles(job: UCloudJob): NonNullable<V1ConfigMap['data']> {
  const t = job.spec.invocationTemplate;
  return t ? { [TEMPLATE_KEY]: t.template, [VALUES_KEY]: t.values } : {};
}

export interface InvocationInit {
  initContainers: V1Container[];
  volumes: V1Volume[];
  /** Mounts for the user container: the rendered script, read-only. */
  userMounts: V1VolumeMount[];
}

export function invocationInit(job: UCloudJob, rank: number, config: OperatorConfig): InvocationInit | undefined {
  if (!job.spec.invocationTemplate) return undefined;
  const renderer = config.jobs.invocationRenderer;
  // The adapter refuses jinja jobs without a renderer image; getting here means the configuration
  // changed under a stored job, which must not run a script nobody rendered.
  if (!renderer.image) throw new Error(`job ${job.spec.jobId} is a jinja application but no jobs.invocationRenderer.image is configured`);
  const init: V1Container = {
    name: RENDER_CONTAINER,
    image: renderer.image,
    imagePullPolicy: renderer.imagePullPolicy,
    command: [...renderer.command, TEMPLATE_FILE, VALUES_FILE, SCRIPT_PATH],
    // script-gen reads the rank from UCLOUD_RANK (cli_script_gen.go).
    env: [{ name: 'UCLOUD_RANK', value: String(rank) }],
    resources: { requests: { ...RENDER_RESOURCES }, limits: { ...RENDER_RESOURCES } },
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
    },
    volumeMounts: [
      { name: INPUT_VOLUME, mountPath: INPUT_DIR, readOnly: true },
      { name: SCRIPT_VOLUME, mountPath: SCRIPT_DIR },
    ],
  };
  return {
    initContainers: [init],
    volumes: [
      {
        name: INPUT_VOLUME,
        configMap: {
          name: configMapName(job.metadata.name),
          items: [
            { key: TEMPLATE_KEY, path: TEMPLATE_KEY },
            { key: VALUES_KEY, path: VALUES_KEY },
          ],
        },
      },
      { name: SCRIPT_VOLUME, emptyDir: { sizeLimit: SCRIPT_SIZE_LIMIT } },
    ],
    userMounts: [{ name: SCRIPT_VOLUME, mountPath: SCRIPT_DIR, readOnly: true }],
  };
}

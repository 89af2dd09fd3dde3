// Where a jinja job's files live inside its pods. One owner for these paths: the pod builder mounts
// them, the translator points the user container at the script, the entry point defaults to them.
// IM2 uses /work/.script-template.j2, /work/.script-params.yaml and /work/.script-generated-<rank>.sh
// (provider-integration/im2/pkg/integrations/k8s/containers/invocation.go); we keep them out of
// /work, which may be a persistent volume shared by the job's ranks.

/** ConfigMap keys (in the job's `-etc` ConfigMap) holding the template and the values. */
export const TEMPLATE_KEY = 'invocation-template.j2';
export const VALUES_KEY = 'invocation-values.json';

/** Read-only: the two ConfigMap keys, mounted into the init container only. */
export const INPUT_DIR = '/opt/ucloud/invocation-input';
export const TEMPLATE_FILE = `${INPUT_DIR}/${TEMPLATE_KEY}`;
export const VALUES_FILE = `${INPUT_DIR}/${VALUES_KEY}`;

/** An emptyDir per pod: the init container writes the script, the user container runs it. */
export const SCRIPT_DIR = '/opt/ucloud/invocation';
export const SCRIPT_PATH = `${SCRIPT_DIR}/job.sh`;

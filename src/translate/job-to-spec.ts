// A UCloud Job as UCloud/Core sends it → the UCloudJob that records it on the cluster. Pure and
// all-or-nothing: every rule the adapter enforces before writing lives here and fails with a
// TranslationError naming the field, so a bad request writes nothing.
import { jobIdLabelValue, jobResourceName } from '../api/v1alpha1/names.js';
import {
  ANNOTATION_JOB_ID,
  API_VERSION,
  KIND,
  LABEL_JOB_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  UCloudJobSpecSchema,
  type Mount,
  type Peer,
  type UCloudJob,
  type UCloudJobSpec,
} from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';
import { durationToMillis, type AppParameterValue, type Job } from '../ucloud/job.js';
import { InvocationError, renderEnvironment, renderInvocation } from './invocation.js';
import { MountPathAllocator, PathError, toSubPath } from './storage-paths.js';

export class TranslationError extends Error {
  override readonly name = 'TranslationError';
  constructor(
    readonly field: string,
    readonly why: string,
    readonly errorCode: string,
    readonly status = 400,
  ) {
    super(`${field}: ${why}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Resource types that need infrastructure this provider does not run. */
const UNSUPPORTED_RESOURCES = new Set(['license_server', 'block_storage', 'network', 'ingress', 'private_network', 'workflow', 'modules', 'api_server']);

export function jobToSpec(job: Job, config: OperatorConfig): UCloudJobSpec {
  const spec = job.specification;
  const app = job.status?.resolvedApplication;
  const product = job.status?.resolvedProduct;
  if (!app) throw new TranslationError('status.resolvedApplication', 'is required to run a job', 'MISSING_APPLICATION');
  if (!product) throw new TranslationError('status.resolvedProduct', 'is required to run a job', 'MISSING_PRODUCT');

  const configured = config.products.find((p) => p.id === spec.product.id && p.category === spec.product.category);
  if (!configured) {
    throw new TranslationError(
      'specification.product',
      `unknown product ${spec.product.id} (category ${spec.product.category}); this provider offers ${config.products.map((p) => p.id).join(', ')}`,
      'UNKNOWN_PRODUCT',
    );
  }
  const backend = app.invocation.tool.tool?.description.backend ?? 'DOCKER';
  if (backend !== 'DOCKER') {
    throw new TranslationError('status.resolvedApplication.invocation.tool', `tool backend ${backend} is not supported (container jobs only)`, 'UNSUPPORTED_BACKEND');
  }
  const image = app.invocation.tool.tool?.description.image ?? app.invocation.tool.tool?.description.container;
  if (!image) throw new TranslationError('status.resolvedApplication.invocation.tool.tool.description.image', 'the tool has no container image', 'MISSING_IMAGE');

  const replicas = spec.replicas ?? 1;
  if (replicas > 1 && app.invocation.allowMultiNode !== true) {
    throw new TranslationError('specification.replicas', `the application does not allow multi-node jobs (asked for ${replicas})`, 'MULTI_NODE_NOT_ALLOWED');
  }

  // Files: parameters and resources of type file, each mounted from the shared storage.
  const mounts: Mount[] = [];
  const mountPathOf = new Map<string, string>();
  const allocator = new MountPathAllocator();
  const addFile = (field: string, value: Extract<AppParameterValue, { type: 'file' }>) => {
    let subPath: string;
    try {
      subPath = toSubPath(value.path);
    } catch (e) {
      throw new TranslationError(field, `invalid path ${JSON.stringify(value.path)}: ${(e as PathError).message}`, 'INVALID_PATH');
    }
    const mountPath = allocator.allocate(subPath);
    mountPathOf.set(value.path, mountPath);
    mounts.push({ name: `file-${mounts.length}`, ucloudPath: value.path, subPath, mountPath, readOnly: value.readOnly === true });
  };
  const peers: Peer[] = [];
  const addPeer = (field: string, value: Extract<AppParameterValue, { type: 'peer' }>) => {
    if (!DNS_LABEL.test(value.hostname)) {
      throw new TranslationError(field, `peer hostname ${JSON.stringify(value.hostname)} must be a DNS label (lowercase letters, digits, "-")`, 'INVALID_PEER_HOSTNAME');
    }
    if (value.jobId === job.id) throw new TranslationError(field, 'a job cannot peer with itself', 'INVALID_PEER');
    if (!peers.some((p) => p.hostname === value.hostname && p.jobId === value.jobId)) peers.push({ hostname: value.hostname, jobId: value.jobId });
  };

  const values = spec.parameters ?? {};
  for (const [name, value] of Object.entries(values)) {
    if (value.type === 'file') addFile(`specification.parameters.${name}`, value);
    if (value.type === 'peer') addPeer(`specification.parameters.${name}`, value);
  }
  (spec.resources ?? []).forEach((value, i) => {
    const field = `specification.resources[${i}]`;
    if (value.type === 'file') addFile(field, value);
    else if (value.type === 'peer') addPeer(field, value);
    else if (UNSUPPORTED_RESOURCES.has(value.type)) {
      throw new TranslationError(field, `resources of type ${value.type} are not supported by this provider`, 'UNSUPPORTED_RESOURCE');
    }
  });
  if (mounts.length && !config.jobs.sharedStorage) {
    throw new TranslationError('specification', 'this provider has no shared storage configured, so UCloud files cannot be mounted', 'NO_SHARED_STORAGE');
  }

  const fileMapper = (path: string) => mountPathOf.get(path) ?? `/work/${path.split('/').pop() ?? ''}`;
  let command: string[];
  let env: Array<{ name: string; value: string }>;
  try {
    command = renderInvocation(app.invocation, values, fileMapper);
    env = renderEnvironment(app.invocation, values, fileMapper);
  } catch (e) {
    if (e instanceof InvocationError) throw new TranslationError(`specification.parameters.${e.parameter}`, e.message, 'INVALID_PARAMETER');
    throw e;
  }
  if (!command.length) throw new TranslationError('status.resolvedApplication.invocation.invocation', 'the invocation renders to an empty command', 'EMPTY_INVOCATION');

  const runAsRoot = app.invocation.container?.runAsRoot === true;
  if (runAsRoot && !config.jobs.allowRunAsRoot) {
    throw new TranslationError('status.resolvedApplication.invocation.container.runAsRoot', 'this provider does not run applications as root', 'RUN_AS_ROOT_NOT_ALLOWED');
  }

  const candidate = {
    jobId: job.id,
    owner: { createdBy: job.owner.createdBy, ...(job.owner.project ? { project: job.owner.project } : {}) },
    application: { name: spec.application.name, version: spec.application.version },
    product: {
      id: spec.product.id,
      category: spec.product.category,
      provider: spec.product.provider,
      cpu: product.cpu ?? configured.cpu,
      memoryInGigs: product.memoryInGigs ?? configured.memoryInGigs,
      gpu: product.gpu ?? configured.gpu,
      unitOfPrice: product.unitOfPrice ?? configured.unitOfPrice,
    },
    replicas,
    image,
    command,
    env,
    ...(app.invocation.container?.changeWorkingDirectory ? { workingDir: '/work' } : {}),
    runAsRoot,
    ...(spec.timeAllocation ? { timeAllocationMillis: durationToMillis(spec.timeAllocation) } : {}),
    mounts,
    peers,
    ...(app.invocation.web?.port ? { webPort: app.invocation.web.port } : {}),
    ...(app.invocation.vnc?.port ? { vncPort: app.invocation.vnc.port } : {}),
    sshEnabled: spec.sshEnabled === true,
    restartOnExit: spec.restartOnExit === true,
    ...(typeof job.createdAt === 'number' ? { ucloudCreatedAt: Math.trunc(job.createdAt) } : {}),
  };
  const parsed = UCloudJobSpecSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TranslationError(`spec.${issue.path.join('.')}`, issue.message, 'INVALID_JOB');
  }
  return parsed.data;
}

export function jobToResource(job: Job, config: OperatorConfig): UCloudJob {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: jobResourceName(job.id),
      namespace: config.namespace,
      labels: { [LABEL_JOB_ID]: jobIdLabelValue(job.id), [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: { [ANNOTATION_JOB_ID]: job.id },
    },
    spec: jobToSpec(job, config),
  };
}

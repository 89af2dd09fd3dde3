// A UCloud Job as UCloud/Core sends it → the UCloudJob that records it on the cluster. Pure and
// all-or-nothing: every rule the adapter enforces before writing lives here and fails with a
// TranslationError naming the field (relative to the Job; the adapter prefixes `items[i].`), so a
// bad request writes nothing. Whether peer jobs exist is the adapter's check: it needs the cluster.
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
import type { OperatorConfig, ProductConfig } from '../config.js';
import { durationToMillis, type AppParameterValue, type ApplicationInvocation, type ComputeProduct, type Job } from '../ucloud/job.js';
import { InvocationError, renderEnvironment, renderInvocation, type FileMapper } from './invocation.js';
import { mountPaths, PathError, toSubPath, WORK_DIR } from './storage-paths.js';

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

const APP = 'status.resolvedApplication';
const INVOCATION = `${APP}.invocation`;
const TOOL_DESCRIPTION = `${INVOCATION}.tool.tool.description`;

// Need infrastructure this provider does not run. license_server, ingress and network values of
// parameters still render their id into the command (as IM2 does); as resources they are refused.
const NEVER_SUPPORTED = new Set<AppParameterValue['type']>(['block_storage', 'private_network', 'workflow', 'modules', 'api_server']);
const SUPPORTED_ONLY_AS_PARAMETER = new Set<AppParameterValue['type']>(['license_server', 'ingress', 'network']);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// The Kubernetes API server's classic rule for env var names; anything else is a pod that never starts.
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
// UCloud's WebDescription and VncDescription defaults, for an application that omits the port.
const DEFAULT_WEB_PORT = 80;
const DEFAULT_VNC_PORT = 5900;

type FileValue = Extract<AppParameterValue, { type: 'file' }>;
type PeerValue = Extract<AppParameterValue, { type: 'peer' }>;

function resolvedParts(job: Job): { app: ApplicationInvocation; resolved: ComputeProduct } {
  const app = job.status?.resolvedApplication?.invocation;
  const resolved = job.status?.resolvedProduct;
  if (!app) throw new TranslationError(APP, 'is required to run a job', 'MISSING_APPLICATION');
  if (!resolved) throw new TranslationError('status.resolvedProduct', 'is required to run a job', 'MISSING_PRODUCT');
  return { app, resolved };
}

function resolveProduct(job: Job, resolved: ComputeProduct, products: readonly ProductConfig[]): UCloudJobSpec['product'] {
  const ref = job.specification.product;
  const configured = products.find((p) => p.id === ref.id && p.category === ref.category);
  if (!configured) {
    const offered = products.map((p) => `${p.id} (${p.category})`).join(', ');
    throw new TranslationError('specification.product', `unknown product ${ref.id} (${ref.category}); this provider offers ${offered}`, 'UNKNOWN_PRODUCT');
  }
  // UCloud/Core's resolved product is what the user was shown and is charged for; our config fills gaps.
  return {
    id: ref.id,
    category: ref.category,
    provider: ref.provider,
    cpu: resolved.cpu ?? configured.cpu,
    memoryInGigs: resolved.memoryInGigs ?? configured.memoryInGigs,
    gpu: resolved.gpu ?? configured.gpu,
    unitOfPrice: resolved.unitOfPrice ?? configured.unitOfPrice,
  };
}

function resolveImage(app: ApplicationInvocation): string {
  const description = app.tool.tool?.description;
  const backend = description?.backend ?? 'DOCKER';
  if (backend !== 'DOCKER') {
    throw new TranslationError(`${TOOL_DESCRIPTION}.backend`, `tool backend ${backend} is not supported (container jobs only)`, 'UNSUPPORTED_BACKEND');
  }
  const image = description?.image || description?.container;
  if (!image) throw new TranslationError(`${TOOL_DESCRIPTION}.image`, 'the tool names no container image', 'MISSING_IMAGE');
  return image;
}

interface Collected {
  files: Array<{ field: string; value: FileValue }>;
  peers: Peer[];
}

/** Sorts the job's parameter values and resources into files and peers, refusing what we cannot run. */
function collect(job: Job): Collected {
  const out: Collected = { files: [], peers: [] };
  const peerFields = new Map<string, Peer>();
  const addPeer = (field: string, value: PeerValue) => {
    if (!DNS_LABEL.test(value.hostname)) {
      throw new TranslationError(field, `peer hostname ${JSON.stringify(value.hostname)} must be a DNS label (a-z, 0-9 and "-", at most 63)`, 'INVALID_PEER_HOSTNAME');
    }
    if (value.jobId === job.id) throw new TranslationError(field, 'a job cannot be its own peer', 'INVALID_PEER');
    const earlier = peerFields.get(value.hostname);
    if (earlier && earlier.jobId !== value.jobId) {
      throw new TranslationError(field, `peer hostname ${value.hostname} is already used for job ${earlier.jobId}`, 'INVALID_PEER_HOSTNAME');
    }
    if (earlier) return;
    const peer = { hostname: value.hostname, jobId: value.jobId };
    peerFields.set(value.hostname, peer);
    out.peers.push(peer);
  };
  const visit = (field: string, value: AppParameterValue, asResource: boolean) => {
    if (NEVER_SUPPORTED.has(value.type) || (asResource && SUPPORTED_ONLY_AS_PARAMETER.has(value.type))) {
      throw new TranslationError(field, `${value.type} ${asResource ? 'resources' : 'values'} are not supported by this provider`, 'UNSUPPORTED_RESOURCE');
    }
    if (value.type === 'file') out.files.push({ field, value });
    else if (value.type === 'peer') addPeer(field, value);
  };
  for (const [name, value] of Object.entries(job.specification.parameters ?? {})) visit(`specification.parameters.${name}`, value, false);
  (job.specification.resources ?? []).forEach((value, i) => visit(`specification.resources[${i}]`, value, true));
  return out;
}

/** One mount per distinct folder or file, and the mapper the invocation uses to name it. */
function buildMounts(files: Collected['files'], config: OperatorConfig): { mounts: Mount[]; fileMapper: FileMapper } {
  const bySubPath = new Map<string, Omit<Mount, 'name' | 'mountPath'>>();
  for (const { field, value } of files) {
    let subPath: string;
    try {
      subPath = toSubPath(value.path);
    } catch (e) {
      if (!(e instanceof PathError)) throw e;
      throw new TranslationError(field, `invalid path ${JSON.stringify(value.path)}: ${e.message}`, 'INVALID_PATH');
    }
    const readOnly = value.readOnly === true;
    const earlier = bySubPath.get(subPath);
    // The same folder twice is one mount; writable if any use asked to write (IM2 keeps the last).
    if (earlier) earlier.readOnly &&= readOnly;
    else bySubPath.set(subPath, { ucloudPath: value.path, subPath, readOnly });
  }
  if (files.length && !config.jobs.sharedStorage) {
    throw new TranslationError(files[0]!.field, 'this provider has no shared storage configured, so UCloud files cannot be mounted', 'NO_SHARED_STORAGE');
  }
  const entries = [...bySubPath.values()];
  const paths = mountPaths(entries.map((e) => e.subPath));
  const mounts = entries.map((e, i) => ({ name: `file-${i}`, ...e, mountPath: paths[i]! }));
  const bySub = new Map(mounts.map((m) => [m.subPath, m.mountPath]));
  const fileMapper = (ucloudPath: string): string => {
    const mountPath = bySub.get(toSubPath(ucloudPath));
    // Every file value was collected above, so this is a bug, not a bad request.
    if (!mountPath) throw new Error(`no mount for ${ucloudPath}`);
    return mountPath;
  };
  return { mounts, fileMapper };
}

function render(app: ApplicationInvocation, values: Record<string, AppParameterValue>, fileMapper: FileMapper): Pick<UCloudJobSpec, 'command' | 'env'> {
  let command: string[];
  let env: UCloudJobSpec['env'];
  try {
    command = renderInvocation(app, values, fileMapper);
    env = renderEnvironment(app, values, fileMapper);
  } catch (e) {
    if (!(e instanceof InvocationError)) throw e;
    throw new TranslationError(`specification.parameters.${e.parameter}`, e.message, e.reason === 'missing' ? 'MISSING_PARAMETER' : 'INVALID_PARAMETER');
  }
  if (command.length === 0 || command[0] === '') {
    throw new TranslationError(`${INVOCATION}.invocation`, 'the invocation renders no program to run', 'EMPTY_INVOCATION');
  }
  for (const { name } of env) {
    if (!ENV_NAME.test(name)) {
      throw new TranslationError(`${INVOCATION}.environment.${name}`, 'is not a valid environment variable name', 'INVALID_ENVIRONMENT');
    }
  }
  return { command, env };
}

export function jobToSpec(job: Job, config: OperatorConfig): UCloudJobSpec {
  const spec = job.specification;
  const { app, resolved } = resolvedParts(job);
  const product = resolveProduct(job, resolved, config.products);
  const image = resolveImage(app);

  const replicas = spec.replicas ?? 1;
  if (replicas > 1 && app.allowMultiNode !== true) {
    throw new TranslationError('specification.replicas', `the application does not allow multi-node jobs (asked for ${replicas})`, 'MULTI_NODE_NOT_ALLOWED');
  }
  const runAsRoot = app.container?.runAsRoot === true;
  if (runAsRoot && !config.jobs.allowRunAsRoot) {
    throw new TranslationError(`${INVOCATION}.container.runAsRoot`, 'this provider does not run applications as root', 'RUN_AS_ROOT_NOT_ALLOWED');
  }

  const { files, peers } = collect(job);
  const { mounts, fileMapper } = buildMounts(files, config);
  const { command, env } = render(app, spec.parameters ?? {}, fileMapper);

  const candidate: UCloudJobSpec = {
    jobId: job.id,
    owner: { createdBy: job.owner.createdBy, ...(job.owner.project ? { project: job.owner.project } : {}) },
    application: { name: spec.application.name, version: spec.application.version },
    product,
    replicas,
    image,
    command,
    env,
    // ContainerDescription defaults changeWorkingDirectory to true when the section is present.
    ...(app.container && app.container.changeWorkingDirectory !== false ? { workingDir: WORK_DIR } : {}),
    runAsRoot,
    ...(spec.timeAllocation ? { timeAllocationMillis: durationToMillis(spec.timeAllocation) } : {}),
    mounts,
    peers,
    ...(app.web ? { webPort: app.web.port ?? DEFAULT_WEB_PORT } : {}),
    ...(app.vnc ? { vncPort: app.vnc.port ?? DEFAULT_VNC_PORT } : {}),
    sshEnabled: spec.sshEnabled === true,
    restartOnExit: spec.restartOnExit === true,
    ...(typeof job.createdAt === 'number' && Number.isFinite(job.createdAt) ? { ucloudCreatedAt: Math.trunc(job.createdAt) } : {}),
  };
  // The CRD rejects what the schema rejects; failing here names the field instead of a 500 later.
  const parsed = UCloudJobSpecSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TranslationError(['spec', ...issue.path.map(String)].join('.'), issue.message, 'INVALID_JOB');
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

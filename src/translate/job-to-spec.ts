// A UCloud Job as UCloud/Core sends it → the UCloudJob that records it on the cluster. Pure and
// all-or-nothing: every rule the adapter enforces before writing lives here and fails with a
// TranslationError naming the field (relative to the Job; the adapter prefixes `items[i].`), so a
// bad request writes nothing. Whether peer jobs exist is the adapter's check: it needs the cluster.
import { jobIdLabelValue, jobResourceName } from '../api/v1alpha1/names.js';
import {
  ANNOTATION_JOB_ID,
  API_VERSION,
  JOB_PARAMETERS_MAX,
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
import { rootProfile, type OperatorConfig, type ProductConfig } from '../config.js';
import {
  ACCOUNTING_FREQUENCIES,
  durationToMillis,
  type AccountingFrequency,
  type AppParameterValue,
  type ApplicationInvocation,
  type ComputeProduct,
  type Job,
} from '../ucloud/job.js';
import { SCRIPT_PATH } from '../render-invocation/layout.js';
import { InvocationError, renderEnvironment, renderInvocation, type FileMapper } from './invocation.js';
import { jinjaInvocation } from './jinja-values.js';
import { withLicenseServers } from './licenses.js';
import { jobFolderPaths, titleSegment } from './job-folder.js';
import { explicitMountPath, mountPaths, PathError, toSubPath, WORK_DIR } from './storage-paths.js';

/** A drive that is part of a per-drive PVC name (jobs.sharedStorage.perDriveClaim): a DNS label. */
const PER_DRIVE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

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

// Values that need infrastructure this provider does not run, and why (the `why` Core shows).
const NEVER_SUPPORTED: Partial<Record<AppParameterValue['type'], string>> = {
  block_storage: 'block storage volumes are not managed by this provider',
  private_network: 'private networks need network infrastructure this provider does not run',
  api_server: 'api_server values (inference-server tokens) are not passed to jobs by this provider',
};
// license_server values of parameters render as their server (licenses.ts), ingress and network
// values their id (as IM2 does); a workflow renders nothing (IM2's DefaultArgBuilder) and its job template
// belongs to a jinja invocation; an empty module list loads nothing. As resources all are refused.
const SUPPORTED_ONLY_AS_PARAMETER = new Set<AppParameterValue['type']>(['license_server', 'ingress', 'network', 'workflow', 'modules']);

export const INIT_SCRIPT_LABEL = 'ucloud.dk/init-script';
const METRICS_SAMPLE_RATE = 'ucMetricSampleRate';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// The Kubernetes API server's classic rule for env var names; anything else is a pod that never starts.
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
// The port of an application that names none (absent, or Go's zero value 0). Web: 80, the
// default core2 gives a v2 web section (app_yaml.go, A2Yaml.Normalize) and Kotlin Core's
// WebDescription had. VNC: 5900 (display :0), Kotlin Core's VncDescription default; core2 leaves
// it 0 and IM2 would dial port 0, so there is no Go default to follow.
const DEFAULT_WEB_PORT = 80;
const DEFAULT_VNC_PORT = 5900;

/** The web and VNC ports, for an application with such a section or of that applicationType. */
function interfacePorts(app: ApplicationInvocation): Pick<UCloudJobSpec, 'webPort' | 'vncPort'> {
  const web = app.web || app.applicationType === 'WEB';
  const vnc = app.vnc || app.applicationType === 'VNC';
  return {
    ...(web ? { webPort: app.web?.port || DEFAULT_WEB_PORT } : {}),
    ...(vnc ? { vncPort: app.vnc?.port || DEFAULT_VNC_PORT } : {}),
  };
}

const FREQUENCIES = new Set<string>(ACCOUNTING_FREQUENCIES);

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
    // core2's category frequency decides the charged period; unitOfPrice is the fallback (accounting.ts).
    ...(FREQUENCIES.has(resolved.category.accountingFrequency ?? '')
      ? { accountingFrequency: resolved.category.accountingFrequency as AccountingFrequency }
      : {}),
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
function collect(job: Job, hasModules: boolean): Collected {
  const out: Collected = { files: [], peers: [] };
  const peerFields = new Map<string, Peer>();
  const addPeer = (field: string, value: PeerValue) => {
    if (!DNS_LABEL.test(value.hostname)) {
      throw new TranslationError(
        field,
        `peer hostname ${JSON.stringify(value.hostname)} must be a DNS label (a-z, 0-9 and "-", at most 63)`,
        'INVALID_PEER_HOSTNAME',
      );
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
    const never = NEVER_SUPPORTED[value.type];
    if (never) throw new TranslationError(field, `${value.type} values are not supported: ${never}`, 'UNSUPPORTED_RESOURCE');
    if (asResource && SUPPORTED_ONLY_AS_PARAMETER.has(value.type)) {
      throw new TranslationError(field, `${value.type} resources are not supported by this provider`, 'UNSUPPORTED_RESOURCE');
    }
    // IM2 mounts modules from its module tree (im2/.../containers/modules.go); a site without one
    // (jobs.modules) cannot honour a module list.
    if (value.type === 'modules' && (value.modules?.length ?? 0) > 0 && !hasModules) {
      throw new TranslationError(field, 'module lists need a software module tree, which this provider does not have', 'UNSUPPORTED_RESOURCE');
    }
    if (value.type === 'file') out.files.push({ field, value });
    else if (value.type === 'peer') addPeer(field, value);
  };
  for (const [name, value] of Object.entries(job.specification.parameters ?? {})) visit(`specification.parameters.${name}`, value, false);
  (job.specification.resources ?? []).forEach((value, i) => visit(`specification.resources[${i}]`, value, true));
  return out;
}

type MountEntry = Omit<Mount, 'name' | 'mountPath'> & { explicit?: string; field: string };

function pathOf<T>(field: string, what: string, value: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof PathError)) throw e;
    throw new TranslationError(field, `invalid ${what} ${JSON.stringify(value)}: ${e.message}`, what === 'path' ? 'INVALID_PATH' : 'INVALID_MOUNT_PATH');
  }
}

/**
 * One mount per distinct folder or file, and the mapper the invocation uses to name it. A file
 * value's explicit mountPath (core2's AppParameterValue.mountPath) puts it there instead of under
 * /work; as in IM2's ResolveJobMounts (im2/pkg/integrations/k8s/shared/mount_paths.go), an explicit
 * path that another mount also gets is refused rather than renamed.
 */
function buildMounts(
  files: Collected['files'],
  config: OperatorConfig,
  driveTitles?: ReadonlyMap<string, string>,
): { mounts: Mount[]; fileMapper: FileMapper } {
  const bySubPath = new Map<string, MountEntry>();
  for (const { field, value } of files) {
    const subPath = pathOf(field, 'path', value.path, () => toSubPath(value.path));
    const explicit = pathOf(`${field}.mountPath`, 'mountPath', value.mountPath ?? '', () => explicitMountPath(value.mountPath));
    if (config.jobs.sharedStorage?.perDriveClaim) perDriveClaimOf(config.jobs.sharedStorage.perDriveClaim, subPath.split('/')[0]!, field, value.path);
    const readOnly = value.readOnly === true;
    const earlier = bySubPath.get(subPath);
    if (earlier && explicit !== undefined && earlier.explicit !== undefined && earlier.explicit !== explicit) {
      throw new TranslationError(`${field}.mountPath`, `${value.path} is already mounted at ${earlier.explicit}`, 'INVALID_MOUNT_PATH');
    }
    // The same folder twice is one mount; writable if any use asked to write (IM2 keeps the last).
    if (earlier) {
      earlier.readOnly &&= readOnly;
      earlier.explicit ??= explicit;
    } else bySubPath.set(subPath, { ucloudPath: value.path, subPath, readOnly, field, ...(explicit !== undefined ? { explicit } : {}) });
  }
  if (files.length && !config.jobs.sharedStorage) {
    throw new TranslationError(files[0]!.field, 'this provider has no shared storage configured, so UCloud files cannot be mounted', 'NO_SHARED_STORAGE');
  }
  const entries = [...bySubPath.values()];
  const implicit = entries.filter((e) => e.explicit === undefined);
  const defaults = mountPaths(
    implicit.map((e) => e.subPath),
    driveTitles,
  );
  const defaultOf = new Map(implicit.map((e, i) => [e.subPath, defaults[i]!]));
  const taken = new Map<string, string>();
  for (const e of entries) {
    const at = e.explicit ?? defaultOf.get(e.subPath)!;
    const other = taken.get(at);
    if (other !== undefined) {
      throw new TranslationError(`${e.field}.mountPath`, `${at} is requested for both ${other} and ${e.ucloudPath}`, 'INVALID_MOUNT_PATH');
    }
    taken.set(at, e.ucloudPath);
  }
  const mounts = entries.map(({ explicit, field: _field, ...e }, i) => ({ name: `file-${i}`, ...e, mountPath: explicit ?? defaultOf.get(e.subPath)! }));
  const bySub = new Map(mounts.map((m) => [m.subPath, m.mountPath]));
  const fileMapper = (ucloudPath: string): string => {
    const mountPath = bySub.get(toSubPath(ucloudPath));
    // Every file value was collected above, so this is a bug, not a bad request.
    if (!mountPath) throw new Error(`no mount for ${ucloudPath}`);
    return mountPath;
  };
  return { mounts, fileMapper };
}

/**
 * Where the file the job was opened with appears in the ranks, as IM2's ucloudToPod maps it
 * (containers/invocation.go): the file's own mount, else its folder's mount and its name, else
 * /dev/null. A path that could not be a UCloud path is refused like any other.
 */
function openedFileIn(job: Job, mounts: readonly Mount[]): string | undefined {
  const opened = job.specification.openedFile;
  if (!opened) return undefined;
  const sub = pathOf('specification.openedFile', 'path', opened, () => toSubPath(opened));
  const own = mounts.find((m) => m.subPath === sub);
  if (own) return own.mountPath;
  const slash = sub.lastIndexOf('/');
  const folder = slash > 0 ? mounts.find((m) => m.subPath === sub.slice(0, slash)) : undefined;
  return folder ? `${folder.mountPath}/${sub.slice(slash + 1)}` : '/dev/null';
}

// Text that becomes an environment value or an argv word: execve cannot carry NUL, and no
// other control character has a place in a path or a duration.
const PRINTABLE = /^[^\p{Cc}]+$/u;

/** core2 adds ucMetricSampleRate to every job (core2/pkg/orchestrator/job.go); IM2 exports it. */
function metricsSampleInterval(job: Job): string | undefined {
  const value = job.specification.parameters?.[METRICS_SAMPLE_RATE];
  if (!value || !('value' in value) || typeof value.value !== 'string' || value.value === '') return undefined;
  if (value.value.length > 64 || !PRINTABLE.test(value.value)) {
    throw new TranslationError(`specification.parameters.${METRICS_SAMPLE_RATE}`, 'must be a sample interval such as "250ms"', 'INVALID_PARAMETER');
  }
  return value.value;
}

/** The ucloud.dk/init-script label (shared/pkg/orchestrators/labels.go), which IM2 runs with bash before the program. */
function initScript(job: Job): string | undefined {
  const script = job.specification.labels?.[INIT_SCRIPT_LABEL];
  if (script === undefined || script === '') return undefined;
  if (!PRINTABLE.test(script)) {
    throw new TranslationError(`specification.labels.${INIT_SCRIPT_LABEL}`, 'contains control characters', 'INVALID_LABEL');
  }
  return script;
}

/**
 * IM2's prepareModules (containers/modules.go): an application that lists optional modules gets
 * UCLOUD_MODULES_ROOT = its modules folder, and each listed module the site provides mounted
 * read-only below it. The folder is the application author's text: held to the rules of an
 * explicit mount path (storage-paths.ts), so it cannot shadow /work, /etc/ucloud or the kernel's.
 */
function modulesOf(app: ApplicationInvocation, config: OperatorConfig): UCloudJobSpec['modules'] {
  const section = app.modules;
  if (!section || section.optional.length === 0) return undefined;
  const field = `${INVOCATION}.modules.mountPath`;
  const root = pathOf(field, 'mountPath', section.mountPath, () => explicitMountPath(section.mountPath));
  if (root === undefined) throw new TranslationError(field, 'an application with optional modules must name their folder', 'INVALID_MOUNT_PATH');
  const mounts = [...new Set(section.optional)].flatMap((name) => {
    const site = config.jobs.modules.find((m) => m.name === name);
    return site ? [{ name, claimName: site.claimName, ...(site.subPath ? { subPath: site.subPath } : {}) }] : [];
  });
  return { root, mounts };
}

function render(job: Job, app: ApplicationInvocation, fileMapper: FileMapper): Pick<UCloudJobSpec, 'command' | 'env' | 'invocationTemplate'> {
  const values = job.specification.parameters ?? {};
  const jinja = jinjaInvocation(job, app, fileMapper);
  let command: string[];
  let env: UCloudJobSpec['env'];
  try {
    // The environment binds every parameter, so a jinja application's values are checked too.
    env = renderEnvironment(app, values, fileMapper);
    // A jinja application's script is rendered by each rank's init container; the user container runs it.
    if (jinja) {
      return { command: [SCRIPT_PATH], env: checkedEnv(env), invocationTemplate: { template: jinja.template, values: JSON.stringify(jinja.values) } };
    }
    command = renderInvocation(app, values, fileMapper);
  } catch (e) {
    if (!(e instanceof InvocationError)) throw e;
    throw new TranslationError(`specification.parameters.${e.parameter}`, e.message, e.reason === 'missing' ? 'MISSING_PARAMETER' : 'INVALID_PARAMETER');
  }
  if (command.length === 0 || command[0] === '') {
    throw new TranslationError(`${INVOCATION}.invocation`, 'the invocation renders no program to run', 'EMPTY_INVOCATION');
  }
  return { command, env: checkedEnv(env) };
}

function checkedEnv(env: UCloudJobSpec['env']): UCloudJobSpec['env'] {
  for (const { name } of env) {
    if (!ENV_NAME.test(name)) {
      throw new TranslationError(`${INVOCATION}.environment.${name}`, 'is not a valid environment variable name', 'INVALID_ENVIRONMENT');
    }
  }
  return env;
}

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

/** What UCloud/Core knows and the Job does not carry, looked up by the adapter before translating. */
export interface CoreFacts {
  /** Titles of the drives mounted whole, by drive id (IM2 mounts those at /work/<title>). */
  driveTitles?: ReadonlyMap<string, string>;
  /** The product of each license the parameters name, by license id (licenses.ts). */
  licenseProducts?: ReadonlyMap<string, string>;
}

/** Drive ids the job mounts whole (a file value whose path is one segment): their titles name the mounts. */
export function wholeDrives(job: Job): string[] {
  const values = [...Object.values(job.specification.parameters ?? {}), ...(job.specification.resources ?? [])];
  const ids = values.flatMap((v) => (v.type === 'file' && /^\/[^/]+\/?$/.test(v.path) ? [v.path.replace(/^\/|\/$/g, '')] : []));
  return [...new Set(ids)];
}

/** A drive that can name its per-drive claim, else a TranslationError for `field`. */
function perDriveClaimOf(pattern: string, drive: string, field: string, path: string): string {
  if (!PER_DRIVE_NAME.test(drive))
    throw new TranslationError(field, `invalid path ${JSON.stringify(path)}: its drive cannot name a per-drive volume`, 'INVALID_PATH');
  return pattern.replace('{drive}', drive);
}

const TITLE = `${APP}.metadata.title`;

/**
 * The job folder (docs/adr/0018) and the JobParameters.json written into it, when the site has
 * jobs.jobFolder. The app title is IM2's: the application's title, or the job's name for the
 * "unknown" application (FindJobFolderEx, im2/pkg/integrations/k8s/containers/00_module.go).
 */
function jobFolderOf(job: Job, config: OperatorConfig): Pick<UCloudJobSpec, 'jobFolder' | 'jobParameters'> {
  const site = config.jobs.jobFolder;
  if (!site) return {};
  const meta = job.status!.resolvedApplication!.metadata;
  const rawTitle = meta.name === 'unknown' && job.specification.name ? job.specification.name : meta.title || meta.name;
  const named = <T>(field: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof PathError)) throw e;
      throw new TranslationError(field, `the job folder cannot be named: ${e.message}`, 'INVALID_JOB_FOLDER');
    }
  };
  const appTitle = named(TITLE, () => titleSegment(rawTitle));
  const values = { user: job.owner.createdBy, appTitle, jobId: job.id, ...(job.owner.project ? { project: job.owner.project } : {}) };
  const paths = named('owner', () => jobFolderPaths(site, values));
  const perDrive = site.perDriveClaim ?? (site.claimName ? undefined : config.jobs.sharedStorage?.perDriveClaim);
  let folder: NonNullable<UCloudJobSpec['jobFolder']>;
  if (perDrive) {
    // The drive is the boundary (security H2): the folder is mounted from the user's own claim.
    const slash = paths.volumePath.indexOf('/');
    if (slash < 0) throw new TranslationError('owner', 'the job folder cannot be the root of a drive', 'INVALID_JOB_FOLDER');
    const drive = paths.volumePath.slice(0, slash);
    folder = { claimName: perDriveClaimOf(perDrive, drive, 'owner', paths.volumePath), subPath: paths.volumePath.slice(slash + 1) };
  } else {
    folder = { claimName: site.claimName ?? config.jobs.sharedStorage!.claimName!, subPath: paths.volumePath };
  }
  if (paths.ucloudPath) folder.ucloudPath = paths.ucloudPath;
  // IM2 writes the file only for a siteVersion other than 0 (job_builder.go).
  const exported = job.status?.jobParametersJson;
  if (!exported?.siteVersion) return { jobFolder: folder };
  const jobParameters = JSON.stringify(exported);
  if (jobParameters.length > JOB_PARAMETERS_MAX) {
    throw new TranslationError(
      'status.jobParametersJson',
      `is ${jobParameters.length} characters; this provider writes JobParameters.json of at most ${JOB_PARAMETERS_MAX}`,
      'JOB_PARAMETERS_TOO_LARGE',
    );
  }
  return { jobFolder: folder, jobParameters };
}

export function jobToSpec(job: Job, config: OperatorConfig, facts: CoreFacts = {}): UCloudJobSpec {
  const spec = job.specification;
  const { app, resolved } = resolvedParts(job);
  const product = resolveProduct(job, resolved, config.products);
  const image = resolveImage(app);

  const replicas = spec.replicas ?? 1;
  if (replicas > 1 && app.allowMultiNode !== true) {
    throw new TranslationError('specification.replicas', `the application does not allow multi-node jobs (asked for ${replicas})`, 'MULTI_NODE_NOT_ALLOWED');
  }
  // ContainerDescription.runAsRoot is a permission, not a demand: core2 sets it on every
  // application it normalises (app_yaml.go, app_yaml_legacy.go), and IM2 turns it into
  // runAsNonRoot=false with privilege escalation (im2/.../containers/job_builder.go). Refusing it
  // would refuse every core2 application; under jobs.rootApps `non-root` they run as runAsUser.
  const runAsRoot = app.container?.runAsRoot === true && rootProfile(config) !== 'non-root';

  const { files, peers } = collect(job, config.jobs.modules.length > 0);
  const { mounts, fileMapper } = buildMounts(files, config, facts.driveTitles);
  const { command, env, invocationTemplate } = render(withLicenseServers(job, facts.licenseProducts, config), app, fileMapper);
  if (invocationTemplate && !config.jobs.invocationRenderer.image) {
    throw new TranslationError(
      `${INVOCATION}.invocation`,
      'this provider cannot render jinja (v2) applications: no jobs.invocationRenderer.image is configured',
      'UNSUPPORTED_INVOCATION',
    );
  }

  const candidate: UCloudJobSpec = {
    jobId: job.id,
    owner: { createdBy: job.owner.createdBy, ...(job.owner.project ? { project: job.owner.project } : {}) },
    application: { name: spec.application.name, version: spec.application.version },
    product,
    replicas,
    image,
    command,
    ...(invocationTemplate !== undefined ? { invocationTemplate } : {}),
    env,
    ...optional('openedFile', openedFileIn(job, mounts)),
    ...optional('metricsSampleInterval', metricsSampleInterval(job)),
    ...optional('initScript', initScript(job)),
    ...optional('modules', modulesOf(app, config)),
    // ContainerDescription defaults changeWorkingDirectory to true when the section is present.
    ...(app.container && app.container.changeWorkingDirectory !== false ? { workingDir: WORK_DIR } : {}),
    runAsRoot,
    ...(spec.timeAllocation ? { timeAllocationMillis: durationToMillis(spec.timeAllocation) } : {}),
    mounts,
    ...jobFolderOf(job, config),
    peers,
    ...interfacePorts(app),
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

export function jobToResource(job: Job, config: OperatorConfig, facts: CoreFacts = {}): UCloudJob {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: jobResourceName(job.id),
      namespace: config.namespace,
      labels: { [LABEL_JOB_ID]: jobIdLabelValue(job.id), [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: { [ANNOTATION_JOB_ID]: job.id },
    },
    spec: jobToSpec(job, config, facts),
  };
}

// What a v2 (jinja) application's template sees: the job's parameter values as IM2 hands them to
// its script generator, and the template with the workflows' job templates appended. Pure data;
// the template itself is rendered in the job's pod (src/render-invocation/), never here.
// Sources: provider-integration/im2/pkg/controller/job_parameters.go (JobFindParamAndValues,
// JobVerifyParameterType, jobReadDefaultValue, JobDefaultArgBuilder) and
// provider-integration/im2/pkg/integrations/k8s/containers/invocation.go (handleJinjaInvocation).
import type { AppParameterValue, ApplicationInvocation, ApplicationParameter, Job } from '../ucloud/job.js';
import type { FileMapper } from './invocation.js';

export interface JinjaInvocation {
  /** The application's template, then each workflow value's job template on a new line. */
  template: string;
  /** IM2's parameter file: one entry per bound parameter, plus `ucloud` (job, machine, nodes, rank 0, application). */
  values: Record<string, unknown>;
}

type Bound = { param: ApplicationParameter | undefined; value: AppParameterValue };
type WorkflowValue = Extract<AppParameterValue, { type: 'workflow' }>;

/** IM2 renders a jinja template only when it is the application's whole invocation. */
export function jinjaTemplateOf(app: ApplicationInvocation): string | undefined {
  const [only, ...rest] = app.invocation;
  return only?.type === 'jinja' && rest.length === 0 ? only.template : undefined;
}

// JobVerifyParameterType. Kotlin-era clients also tag strings as textarea/enumeration; Go-era Core
// sends "text" for all three, and either is read here.
const STRING_TAGS: ReadonlyArray<string> = ['text', 'textarea', 'enumeration'];
function verify(param: ApplicationParameter, value: AppParameterValue): boolean {
  const expect: Record<string, string> = {
    input_directory: 'file',
    input_file: 'file',
    boolean: 'boolean',
    floating_point: 'floating_point',
    ingress: 'ingress',
    integer: 'integer',
    license_server: 'license_server',
    network_ip: 'network',
    peer: 'peer',
    modules: 'modules',
  };
  if (STRING_TAGS.includes(param.type)) return STRING_TAGS.includes(value.type);
  const wanted = expect[param.type];
  return wanted === undefined || value.type === wanted;
}

// jobGenericDefaultParse: the bare value, else Go's json.Unmarshal into struct{ Value T } (the key
// matched case-insensitively; an object without it gives T's zero value).
function genericDefault<T>(input: unknown, is: (x: unknown) => x is T, zero: T): T | undefined {
  if (is(input)) return input;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const key = Object.keys(input).find((k) => k.toLowerCase() === 'value');
  if (key === undefined) return zero;
  const inner = (input as Record<string, unknown>)[key];
  return inner === null ? zero : is(inner) ? inner : undefined;
}
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === 'string';

function readDefault(param: ApplicationParameter): AppParameterValue | undefined {
  const d = param.defaultValue;
  if (d === undefined || d === null) return undefined;
  switch (param.type) {
    case 'boolean': {
      const v = genericDefault(d, isBool, false);
      return v === undefined ? undefined : { type: 'boolean', value: v };
    }
    case 'integer': {
      const v = genericDefault(d, isInt, 0);
      return v === undefined ? undefined : { type: 'integer', value: v };
    }
    case 'floating_point': {
      const v = genericDefault(d, isNum, 0);
      return v === undefined ? undefined : { type: 'floating_point', value: v };
    }
    case 'text':
    case 'textarea':
    case 'enumeration': {
      const v = genericDefault(d, isStr, '');
      return v === undefined ? undefined : { type: 'text', value: v };
    }
    default:
      return undefined;
  }
}

/** JobFindParamAndValues: defaults first, then the job's values (unknown names and wrong types dropped, as IM2 drops them). */
function bind(job: Job, app: ApplicationInvocation): Map<string, Bound> {
  const given = job.specification.parameters ?? {};
  const workflowInputs = Object.values(given).flatMap((v) => (v.type === 'workflow' ? (v.specification?.inputs ?? []) : []));
  const all = [...app.parameters, ...workflowInputs];
  const bound = new Map<string, Bound>();
  for (const param of all) {
    const value = readDefault(param);
    if (value && verify(param, value)) bound.set(param.name, { param, value });
  }
  for (const [name, value] of Object.entries(given)) {
    if (name.startsWith('_injected_')) {
      bound.set(name, { param: undefined, value });
      continue;
    }
    const param = all.find((p) => p.name === name);
    if (param && verify(param, value)) bound.set(name, { param, value });
  }
  return bound;
}

/** JobDefaultArgBuilder: a value as the text IM2 puts in the parameter file. */
function argText({ param, value }: Bound, files: FileMapper): string {
  const v = value as Record<string, unknown>;
  switch (param?.type) {
    case 'text':
    case 'textarea':
      return String(v.value ?? '');
    case 'enumeration': {
      const name = String(v.value ?? '');
      return param.options?.find((o) => o.name === name)?.value ?? name;
    }
    case 'input_file':
    case 'input_directory':
      return typeof v.path === 'string' ? files(v.path) : '';
    case 'peer':
      return String(v.hostname ?? '');
    case 'license_server':
    case 'network_ip':
    case 'ingress':
      return String(v.id ?? '');
    default:
      // IM2 logs "Unhandled value type" and renders "" (workflow, readme, modules, _injected_ values).
      return '';
  }
}

export function jinjaInvocation(job: Job, app: ApplicationInvocation, files: FileMapper): JinjaInvocation | undefined {
  const base = jinjaTemplateOf(app);
  if (base === undefined) return undefined;
  const bound = bind(job, app);

  // IM2 walks a Go map here, in no fixed order; we append workflows in name order.
  let template = base;
  const names = [...bound.keys()].sort();
  for (const name of names) {
    const { value } = bound.get(name)!;
    const jobTemplate = value.type === 'workflow' ? (value as WorkflowValue).specification?.job : undefined;
    if (typeof jobTemplate !== 'string') continue;
    if (template.length > 0) template += '\n';
    template += jobTemplate;
  }

  const values: Record<string, unknown> = {};
  for (const name of names) {
    const b = bound.get(name)!;
    const v = b.value as Record<string, unknown>;
    // As a string: core2 adds parameter types (workflow, readme, ...) the schema may not list yet.
    switch (b.param?.type as string | undefined) {
      case 'floating_point':
      case 'integer':
      case 'boolean':
        values[name] = v.value;
        break;
      case 'workflow':
        break;
      default:
        values[name] = argText(b, files);
    }
  }

  const product = job.status?.resolvedProduct;
  const metadata = job.status?.resolvedApplication?.metadata;
  values.ucloud = {
    jobId: job.id,
    machine: {
      name: product?.name ?? '',
      category: product?.category.name ?? '',
      cpu: product?.cpu ?? 0,
      cpuModel: product?.cpuModel ?? '',
      memoryInGigs: product?.memoryInGigs ?? 0,
      memoryModel: product?.memoryModel ?? '',
      gpu: product?.gpu ?? 0,
      gpuModel: product?.gpuModel ?? '',
    },
    nodes: job.specification.replicas ?? 1,
    // script-gen replaces it with the pod's UCLOUD_RANK.
    rank: 0,
    application: { name: metadata?.name ?? '', version: metadata?.version ?? '' },
  };
  return { template, values };
}

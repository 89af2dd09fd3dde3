// Renders an application's invocation into argv words and environment variables, following
// UCloud's own backend (IM2's JobBuildParameter/JobDefaultArgBuilder). The words become the
// container's command as they are: no shell, no quoting, one argv item per word, so a text value
// with spaces or quotes stays one argument and cannot inject another. One deliberate deviation
// (docs/adr/0003): a boolean rendering the bare default literal behind a flag prefix is a switch,
// which is what makes the spec's `acme-batch --debug "Hello, World!"` come out as documented.
import type { AppParameterValue, ApplicationInvocation, ApplicationParameter, InvocationParameter } from '../ucloud/job.js';
import { AppParameterValueSchema } from '../ucloud/job.js';

export type InvocationErrorReason = 'missing' | 'type' | 'value';

export class InvocationError extends Error {
  override readonly name = 'InvocationError';
  constructor(
    readonly parameter: string,
    readonly reason: InvocationErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export type FileMapper = (ucloudPath: string) => string;

export interface BoundValue {
  param: ApplicationParameter;
  value: AppParameterValue;
}

// Which value types each parameter type accepts. Wider than IM2's check in two harmless ways that
// UCloud clients produce: a whole number sent for a floating_point, and text/textarea/enumeration
// values tagged with either of the string types.
const ACCEPTS: Record<ApplicationParameter['type'], ReadonlyArray<AppParameterValue['type']>> = {
  input_file: ['file'],
  input_directory: ['file'],
  text: ['text', 'textarea'],
  textarea: ['textarea', 'text'],
  integer: ['integer'],
  floating_point: ['floating_point', 'integer'],
  boolean: ['boolean'],
  enumeration: ['enumeration', 'text'],
  peer: ['peer'],
  license_server: ['license_server'],
  ingress: ['ingress'],
  network_ip: ['network'],
  workflow: ['workflow'],
  // A README is text shown on the submit page; core2 refuses any value for it (job.go).
  readme: [],
  modules: ['modules'],
  private_network: ['private_network'],
};

// Defaults come from the application author, not the user, so UCloud/Core never checked that the
// job's owner may use them. Like IM2 we therefore only honour plain-data defaults: a default file,
// peer or license would let an application reach something its user was never granted.
const FROM_PRIMITIVE: Partial<Record<ApplicationParameter['type'], (v: unknown) => AppParameterValue | undefined>> = {
  text: (v) => (typeof v === 'string' ? { type: 'text', value: v } : undefined),
  textarea: (v) => (typeof v === 'string' ? { type: 'textarea', value: v } : undefined),
  enumeration: (v) => (typeof v === 'string' ? { type: 'enumeration', value: v } : undefined),
  integer: (v) => (typeof v === 'number' && Number.isInteger(v) ? { type: 'integer', value: v } : undefined),
  floating_point: (v) => (typeof v === 'number' && Number.isFinite(v) ? { type: 'floating_point', value: v } : undefined),
  boolean: (v) => (typeof v === 'boolean' ? { type: 'boolean', value: v } : undefined),
  // ApplicationParameterModuleList's default is the empty list "[]" (applications.go).
  modules: (v) => (Array.isArray(v) && v.every((m) => typeof m === 'string') ? { type: 'modules', modules: v as string[] } : undefined),
};

function defaultOf(param: ApplicationParameter): AppParameterValue | undefined {
  const fromPrimitive = FROM_PRIMITIVE[param.type];
  const d = param.defaultValue;
  if (!fromPrimitive || d === undefined || d === null) return undefined;
  const typed = AppParameterValueSchema.safeParse(d);
  if (typed.success) return ACCEPTS[param.type].includes(typed.data.type) ? typed.data : undefined;
  // IM2 also reads `{"value": 5}` without a type, and the bare primitive `5`.
  if (typeof d === 'object' && 'value' in d) return fromPrimitive((d as { value: unknown }).value);
  return fromPrimitive(d);
}

function checkValue(param: ApplicationParameter, value: AppParameterValue): void {
  if (!ACCEPTS[param.type].includes(value.type)) {
    throw new InvocationError(param.name, 'type', `parameter "${param.name}" is of type ${param.type} but got a ${value.type} value`);
  }
  // execve cannot pass a NUL byte: the pod would fail at start with a runtime error nobody reads.
  if ('value' in value && typeof value.value === 'string' && value.value.includes('\u0000')) {
    throw new InvocationError(param.name, 'value', `parameter "${param.name}" contains a NUL character`);
  }
}

/** The job's values (or else the defaults) of the application's parameters, checked against their types. */
export function bindParameters(app: ApplicationInvocation, values: Record<string, AppParameterValue>): Map<string, BoundValue> {
  const bound = new Map<string, BoundValue>();
  for (const param of app.parameters) {
    if (param.type === 'readme') continue;
    // Own properties only: a parameter called "constructor" must not find Object.prototype's.
    const given = Object.hasOwn(values, param.name) ? values[param.name] : undefined;
    const value = given ?? defaultOf(param);
    if (value === undefined) {
      if (param.optional !== true) throw new InvocationError(param.name, 'missing', `parameter "${param.name}" is required but has no value`);
      continue;
    }
    checkValue(param, value);
    bound.set(param.name, { param, value });
  }
  return bound;
}

/** Integers as plain digits even past 2^53 (String(1e21) would be "1e+21"); floats as JS prints them. */
function numberText(n: number, integer: boolean): string {
  return integer && Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

const isDefaultBoolLiteral = (param: ApplicationParameter, b: boolean): boolean => {
  const custom = b ? param.trueValue : param.falseValue;
  return custom === null || custom === undefined || custom === '' || custom === String(b);
};

/** IM2's JobDefaultArgBuilder: one value as text. */
function valueText({ param, value }: BoundValue, files: FileMapper): string {
  switch (value.type) {
    case 'text':
    case 'textarea':
    case 'enumeration':
      // IM2 goes by the parameter's type: an enumeration sent as text still maps name → value.
      return param.type === 'enumeration' ? (param.options?.find((o) => o.name === value.value)?.value ?? value.value) : value.value;
    case 'integer':
      return numberText(value.value, true);
    case 'floating_point':
      return numberText(value.value, false);
    case 'boolean': {
      const custom = value.value ? param.trueValue : param.falseValue;
      return custom === null || custom === undefined || custom === '' ? String(value.value) : custom;
    }
    case 'file':
      return files(value.path);
    case 'peer':
      return value.hostname;
    case 'license_server':
    case 'ingress':
    case 'network':
      return value.id;
    case 'workflow':
    case 'modules':
    case 'private_network':
      // IM2's DefaultArgBuilder: "" for a workflow; its default case ("unhandled") for the others.
      return '';
    default: {
      // Unreachable: ACCEPTS admits no other value type for any parameter.
      const type: string = (value as AppParameterValue).type;
      throw new InvocationError(param.name, 'type', `parameter "${param.name}" has a ${type} value that cannot be rendered`);
    }
  }
}

// IM2 trims prefixes and suffixes, so authors write "--debug " and get the word "--debug". Values
// are never trimmed: IM2 trims them only when the part has a global prefix or suffix, by accident.
const trimmed = (s: string | null | undefined): string => (s ?? '').trim();

function renderVar(part: Extract<InvocationParameter, { type: 'var' }>, bound: Map<string, BoundValue>, files: FileMapper): string[] {
  const prefixGlobal = trimmed(part.prefixGlobal);
  const suffixGlobal = trimmed(part.suffixGlobal);
  const prefixVariable = trimmed(part.prefixVariable);
  const suffixVariable = trimmed(part.suffixVariable);
  const gluePrefix = part.isPrefixVariablePartOfArg === true;
  const glueSuffix = part.isSuffixVariablePartOfArg === true;
  // ADR 0003: behind a flag prefix, a default-literal boolean is a switch rather than a value, but
  // only when the value would be an argument of its own ("--x=true" keeps its value).
  const valueStandsAlone = !(gluePrefix && prefixVariable) && !(glueSuffix && suffixVariable);
  const switchable = valueStandsAlone && (prefixGlobal !== '' || prefixVariable !== '');

  const middle: string[] = [];
  let rendered = 0;
  for (const name of part.variableNames) {
    const b = bound.get(name);
    if (!b) continue;
    if (switchable && b.value.type === 'boolean' && isDefaultBoolLiteral(b.param, b.value.value)) {
      if (!b.value.value) continue;
      rendered++;
      if (prefixVariable) middle.push(prefixVariable);
      if (suffixVariable) middle.push(suffixVariable);
      continue;
    }
    rendered++;
    let arg = '';
    if (prefixVariable) {
      if (gluePrefix) arg += prefixVariable;
      else middle.push(prefixVariable);
    }
    arg += valueText(b, files);
    if (glueSuffix) middle.push(arg + suffixVariable);
    else {
      middle.push(arg);
      if (suffixVariable) middle.push(suffixVariable);
    }
  }
  // No value at all (every variable absent, or a false switch): not even the global prefix.
  if (rendered === 0) return [];
  return [...(prefixGlobal ? [prefixGlobal] : []), ...middle, ...(suffixGlobal ? [suffixGlobal] : [])];
}

function renderPart(part: InvocationParameter, bound: Map<string, BoundValue>, files: FileMapper, inEnvironment: boolean): string[] {
  switch (part.type) {
    case 'word':
      return [part.word];
    case 'env':
      // Kubernetes expands $(VAR) in env values; on the command line we keep IM2's $VAR.
      return [inEnvironment ? `$(${part.variable})` : `$${part.variable}`];
    case 'bool_flag': {
      const b = bound.get(part.variableName);
      const flag = part.flag.trim();
      return b?.value.type === 'boolean' && b.value.value && flag ? [flag] : [];
    }
    case 'var':
      return renderVar(part, bound, files);
    case 'jinja':
      // IM2's JobBuildParameter without a Jinja context renders nothing; a jinja application is
      // rendered as a whole, in its pod (src/render-invocation/, docs/adr/0012).
      return [];
  }
}

/** The command line as argv words. Throws InvocationError naming the parameter at fault. */
export function renderInvocation(app: ApplicationInvocation, values: Record<string, AppParameterValue>, fileMapper: FileMapper): string[] {
  const bound = bindParameters(app, values);
  return app.invocation.flatMap((part) => renderPart(part, bound, fileMapper, false));
}

/**
 * The application's environment section, each variable's words joined by spaces as IM2 does. A
 * variable whose parts render nothing is still set, to the empty string, as IM2 sets it.
 */
export function renderEnvironment(
  app: ApplicationInvocation,
  values: Record<string, AppParameterValue>,
  fileMapper: FileMapper,
): Array<{ name: string; value: string }> {
  const bound = bindParameters(app, values);
  return Object.entries(app.environment ?? {}).map(([name, part]) => ({ name, value: renderPart(part, bound, fileMapper, true).join(' ') }));
}

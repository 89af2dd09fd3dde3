// Renders an application's invocation into argv words and environment variables, following
// UCloud's own backend (IM2's BuildParameter/DefaultArgBuilder). The words are passed to the
// container as its command: no shell, no quoting, one argv item per word, so a text value with
// spaces or quotes stays one argument. One deliberate deviation (docs/adr/0003): a boolean whose
// value is the bare default literal behind a flag prefix is a switch, as the spec's example says.
import {
  AppParameterValueSchema,
  type AppParameterValue,
  type ApplicationInvocation,
  type ApplicationParameter,
  type InvocationParameter,
} from '../ucloud/job.js';

export class InvocationError extends Error {
  override readonly name = 'InvocationError';
  constructor(
    readonly parameter: string,
    why: string,
  ) {
    super(why);
  }
}

export type FileMapper = (ucloudPath: string) => string;

interface Bound {
  param: ApplicationParameter;
  value: AppParameterValue;
}

const VALUE_TYPES: Record<ApplicationParameter['type'], AppParameterValue['type'][]> = {
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
};

const PRIMITIVE_DEFAULT: Partial<Record<ApplicationParameter['type'], (v: unknown) => AppParameterValue | undefined>> = {
  text: (v) => (typeof v === 'string' ? { type: 'text', value: v } : undefined),
  textarea: (v) => (typeof v === 'string' ? { type: 'textarea', value: v } : undefined),
  enumeration: (v) => (typeof v === 'string' ? { type: 'enumeration', value: v } : undefined),
  integer: (v) => (typeof v === 'number' && Number.isInteger(v) ? { type: 'integer', value: v } : undefined),
  floating_point: (v) => (typeof v === 'number' ? { type: 'floating_point', value: v } : undefined),
  boolean: (v) => (typeof v === 'boolean' ? { type: 'boolean', value: v } : undefined),
};

function defaultOf(param: ApplicationParameter): AppParameterValue | undefined {
  const d = param.defaultValue;
  if (d === undefined || d === null) return undefined;
  const parsed = AppParameterValueSchema.safeParse(d);
  if (parsed.success && VALUE_TYPES[param.type].includes(parsed.data.type)) return parsed.data;
  if (typeof d === 'object' && d !== null && 'value' in d) return PRIMITIVE_DEFAULT[param.type]?.((d as { value: unknown }).value);
  return PRIMITIVE_DEFAULT[param.type]?.(d);
}

/** Binds the job's values (and defaults) to the application's parameters, checking types. */
export function bindParameters(app: ApplicationInvocation, values: Record<string, AppParameterValue>): Map<string, Bound> {
  const bound = new Map<string, Bound>();
  for (const param of app.parameters) {
    const given = values[param.name];
    const value = given ?? defaultOf(param);
    if (value === undefined) {
      if (param.optional !== true) throw new InvocationError(param.name, `parameter "${param.name}" is required but has no value`);
      continue;
    }
    if (!VALUE_TYPES[param.type].includes(value.type)) {
      throw new InvocationError(param.name, `parameter "${param.name}" is of type ${param.type} but got a ${value.type} value`);
    }
    bound.set(param.name, { param, value });
  }
  return bound;
}

/** Integers as plain decimal digits (never 1e+21), floats with their decimals. */
function numberText(n: number, integer: boolean): string {
  if (integer && Number.isSafeInteger(n)) return String(n);
  if (integer) return BigInt(Math.trunc(n)).toString();
  return Number.isInteger(n) ? n.toFixed(1).replace(/\.0$/, '') : String(n);
}

function isDefaultBoolLiteral(param: ApplicationParameter, b: boolean): boolean {
  const v = b ? param.trueValue : param.falseValue;
  return v === null || v === undefined || v === '' || v === (b ? 'true' : 'false');
}

function valueText({ param, value }: Bound, files: FileMapper): string {
  switch (value.type) {
    case 'text':
    case 'textarea':
      return value.value;
    case 'enumeration':
      return param.options?.find((o) => o.name === value.value)?.value ?? value.value;
    case 'integer':
      return numberText(value.value, true);
    case 'floating_point':
      return numberText(value.value, false);
    case 'boolean': {
      const v = value.value ? param.trueValue : param.falseValue;
      return v === null || v === undefined || v === '' ? String(value.value) : v;
    }
    case 'file':
      return files(value.path);
    case 'peer':
      return value.hostname;
    case 'license_server':
    case 'ingress':
    case 'network':
    case 'block_storage':
    case 'private_network':
      return value.id;
    default:
      throw new InvocationError(param.name, `parameter "${param.name}" has a value of type ${value.type} that cannot be rendered`);
  }
}

function renderPart(part: InvocationParameter, bound: Map<string, Bound>, files: FileMapper, inEnv: boolean): string[] {
  switch (part.type) {
    case 'word':
      return [part.word];
    case 'env':
      return [inEnv ? `$(${part.variable})` : `$${part.variable}`];
    case 'bool_flag': {
      const b = bound.get(part.variableName);
      return b?.value.type === 'boolean' && b.value.value ? [part.flag] : [];
    }
    case 'var': {
      const prefixGlobal = (part.prefixGlobal ?? '').trim();
      const suffixGlobal = (part.suffixGlobal ?? '').trim();
      const prefixVariable = (part.prefixVariable ?? '').trim();
      const suffixVariable = (part.suffixVariable ?? '').trim();
      const relevant = part.variableNames.map((n) => bound.get(n)).filter((b): b is Bound => b !== undefined);
      if (!relevant.length) return [];
      // ADR 0003: `--debug` with debug=true and default literals renders as a switch.
      const hasPrefix = prefixGlobal !== '' || prefixVariable !== '';
      const middle: string[] = [];
      let anyValue = false;
      for (const b of relevant) {
        const isSwitch = hasPrefix && b.value.type === 'boolean' && isDefaultBoolLiteral(b.param, b.value.value);
        if (isSwitch && !(b.value as { value: boolean }).value) continue;
        anyValue = true;
        if (isSwitch) {
          if (prefixVariable) middle.push(prefixVariable);
          continue;
        }
        const text = valueText(b, files);
        let main = '';
        if (prefixVariable) {
          if (part.isPrefixVariablePartOfArg) main += prefixVariable;
          else middle.push(prefixVariable);
        }
        main += text;
        if (part.isSuffixVariablePartOfArg) {
          middle.push(main + suffixVariable);
        } else {
          middle.push(main);
          if (suffixVariable) middle.push(suffixVariable);
        }
      }
      if (!anyValue) return [];
      return [...(prefixGlobal ? [prefixGlobal] : []), ...middle, ...(suffixGlobal ? [suffixGlobal] : [])];
    }
  }
}

export function renderInvocation(app: ApplicationInvocation, values: Record<string, AppParameterValue>, files: FileMapper): string[] {
  const bound = bindParameters(app, values);
  return app.invocation.flatMap((part) => renderPart(part, bound, files, false));
}

export function renderEnvironment(
  app: ApplicationInvocation,
  values: Record<string, AppParameterValue>,
  files: FileMapper,
): Array<{ name: string; value: string }> {
  const bound = bindParameters(app, values);
  return Object.entries(app.environment ?? {})
    .map(([name, part]) => ({ name, words: renderPart(part, bound, files, true) }))
    .filter((e) => e.words.length > 0)
    .map(({ name, words }) => ({ name, value: words.join(' ') }));
}

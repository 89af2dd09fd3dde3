// Renders a v2 (jinja) application's invocation into the job script, with UCloud's semantics:
// IM2's script generator (provider-integration/im2/pkg/integrations/k8s/cli_script_gen.go) on
// gonja, UCloud's Jinja fork, configured as provider-integration/im2/pkg/controller/jinja_invocation.go
// does it. The rules and what we checked them against are in docs/adr/0012-jinja-invocations.md.
//
// The template is the user's program text: this module runs only in the job pod's init container
// (src/render-invocation/main.ts) and in unit tests, never in the operator process. nunjucks is no
// sandbox; the pod is.
import nunjucks from 'nunjucks';

// nunjucks' runtime helpers we replace or build on; not all of them are in @types/nunjucks.
interface NunjucksRuntime {
  SafeString: new (value: string) => { toString(): string; val: string };
  suppressValue: (value: unknown, autoescape: boolean) => string;
}
const runtime = (nunjucks as unknown as { runtime: NunjucksRuntime }).runtime;
const { SafeString } = runtime;
type Safe = InstanceType<typeof SafeString>;
const isSafe = (v: unknown): v is Safe => v instanceof SafeString;
const safe = (s: string): Safe => new SafeString(s);

export const SCRIPT_HEADER = '#!/usr/bin/env bash\n';

/** IM2's EscapeBash (job_parameters.go) and gonja's bash escape (gonja/utils/escape.go): one single-quoted word. */
export function escapeBash(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

// gonja's Value.String() (gonja/exec/value.go) for the types a parameter file can hold.
function formatFloat(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  let s = n.toFixed(11);
  if (!s.includes('.')) s += '.';
  s = s.replace(/0+$/, '');
  return s.endsWith('.') ? `${s}0` : s;
}

export function gonjaString(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (isSafe(v)) return v.toString();
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'True' : 'False';
    case 'number':
      return Number.isInteger(v) ? String(v) : formatFloat(v);
    case 'bigint':
      return v.toString();
    default:
      break;
  }
  const quoted = (x: unknown) => (typeof x === 'string' || isSafe(x) ? `'${gonjaString(x)}'` : gonjaString(x));
  if (Array.isArray(v)) return `[${v.map(quoted).join(', ')}]`;
  if (typeof v === 'object') {
    const pairs = Object.entries(v as Record<string, unknown>).map(([k, x]) => `'${k}': ${quoted(x)}`);
    return `{${pairs.sort().join(', ')}}`;
  }
  return String(v);
}

// gonja's renderer (gonja/exec/renderer.go, *nodes.Output): with AutoEscape, an unsafe string is
// bash-escaped; numbers, booleans, lists and maps are printed as gonja prints them, unescaped.
// Compiled templates call runtime.suppressValue for every `{{ }}`; this module is the only user
// of nunjucks in the process, so replacing it is replacing it for this renderer alone.
runtime.suppressValue = (value: unknown, autoescape: boolean): string => {
  if (isSafe(value)) return value.toString();
  const text = gonjaString(value);
  return autoescape && typeof value === 'string' ? escapeBash(text) : text;
};

/** Positional arguments only: gonja hands keyword arguments to filters separately. */
function positional(args: unknown[]): unknown[] {
  const last = args[args.length - 1];
  const isKw = typeof last === 'object' && last !== null && (last as { __keywords?: boolean }).__keywords === true;
  return isKw ? args.slice(0, -1) : args;
}
function keywords(args: unknown[]): Record<string, unknown> {
  const last = args[args.length - 1];
  const isKw = typeof last === 'object' && last !== null && (last as { __keywords?: boolean }).__keywords === true;
  return isKw ? (last as Record<string, unknown>) : {};
}
const isStringValue = (v: unknown): boolean => typeof v === 'string' || isSafe(v);

/** `value | flag(onFlag[, offFlag])`, jinja_invocation.go. Only a real `true` is true (gonja's Value.Bool). */
function flag(value: unknown, ...rawArgs: unknown[]): unknown {
  const args = positional(rawArgs);
  if (args.length < 1 || args.length > 2) throw new Error("wrong signature for 'flag'");
  if (!isStringValue(args[0])) throw new Error("wrong signature for 'flag' expected arg 0 to be a string");
  if (args.length === 2 && !isStringValue(args[1])) throw new Error("wrong signature for 'flag' expected arg 1 to be a string");
  const chosen = gonjaString(value === true ? args[0] : (args[1] ?? ''));
  // A non-empty flag is an ordinary (unsafe) string, so autoescape quotes it, as gonja does.
  return chosen === '' ? safe('') : chosen;
}

/** `value | option(optionFlag[, addSpace])`, jinja_invocation.go: the value always bash-escaped. */
function option(value: unknown, ...rawArgs: unknown[]): Safe {
  const args = positional(rawArgs);
  if (args.length < 1 || args.length >= 3) throw new Error("wrong signature for 'option'");
  const optionFlag = gonjaString(args[0]);
  let addSpaces = !optionFlag.endsWith('=');
  if (args.length === 2) {
    if (typeof args[1] !== 'boolean') throw new Error("wrong signature for 'option' expected arg 2 to be a boolean");
    addSpaces = args[1];
  }
  if (value === undefined || value === null) return safe('');
  const text = gonjaString(value);
  return safe(addSpaces ? `${optionFlag} ${escapeBash(text)}` : escapeBash(optionFlag + text));
}

/** gonja's `escape` filter with UCloud's bash escape mode (gonja/builtins/filters.go). */
function escapeFilter(value: unknown): Safe {
  return isSafe(value) ? value : safe(escapeBash(gonjaString(value)));
}

// RE2 (Go) and JavaScript agree on the regular expressions applications use; Go's named groups
// are spelt (?P<name>...), which JavaScript does not read.
const toJsPattern = (pattern: string): string => pattern.replaceAll('(?P<', '(?<');

/** `value is match(pattern)` / `is search(pattern)`, jinja_invocation.go: match is anchored at both ends. */
function matchOrSearch(anchored: boolean) {
  return (value: unknown, ...rawArgs: unknown[]): boolean => {
    if (!isStringValue(value)) throw new Error('input value must be a string');
    const args = positional(rawArgs);
    const kw = keywords(rawArgs);
    if (args.length !== 1) throw new Error('expected a pattern to match against');
    let flags = '';
    for (const [name, letter] of [
      ['ignorecase', 'i'],
      ['multiline', 'm'],
    ] as const) {
      if (!(name in kw)) continue;
      if (typeof kw[name] !== 'boolean') throw new Error(`${name} must be a boolean`);
      if (kw[name]) flags += letter;
    }
    const body = toJsPattern(gonjaString(args[0]));
    let compiled: RegExp;
    try {
      compiled = new RegExp(anchored ? `^(?:${body})$` : body, flags);
    } catch (e) {
      throw new Error(`could not compile input regex: ${(e as Error).message}`, { cause: e });
    }
    return compiled.test(gonjaString(value));
  };
}

/** The functions script-gen adds to the context (cli_script_gen.go). Dynamic interfaces are recorded nowhere here. */
function scriptGenFunctions(): Record<string, unknown> {
  return {
    ternary: (condition: unknown, ifTrue: unknown, ifFalse: unknown) => (condition === true ? ifTrue : ifFalse),
    dynamicInterface: (rank: number, interactiveType: string, _target: string, port: number) => {
      if (rank < 0) return safe('\n# Rank must be > 0\n');
      if (interactiveType !== 'VNC' && interactiveType !== 'WEB') return safe('\n# Interactive type must be VNC or WEB\n');
      if (port < 0) return safe('\n# Port must be > 0\n');
      return safe('');
    },
    setInterfaceName: (name: string) => (name === '' ? safe('\n echo Name must be entered\n') : safe('')),
  };
}

// `{- fn("arg", ...) -}` calls (jinja_invocation.go, templateRegex). On Kubernetes every function
// is unknown (k8sTemplate in cli_script_gen.go), so each call becomes a comment line.
const TEMPLATE_CALL = /\{- ([^-{}()]*)(\(([^)]*)\))? -\}/g;
export function preprocessTemplate(source: string): string {
  return source.replace(TEMPLATE_CALL, (_m, fn: string) => `\n# unknown function ${fn}\n`);
}

function environment(): nunjucks.Environment {
  // No loader: include, import, extends and from find nothing, as gonja's "Safe" control structures allow none of them.
  const env = new nunjucks.Environment([], { autoescape: true, throwOnUndefined: false, trimBlocks: false, lstripBlocks: false });
  env.addFilter('flag', flag);
  env.addFilter('option', option);
  env.addFilter('escape', escapeFilter);
  env.addFilter('e', escapeFilter);
  // Python's str.title (gonja's title): every run of letters capitalised, "hello 'w'" → "Hello 'W'".
  env.addFilter('title', (v: unknown) => gonjaString(v).replace(/\p{L}+/gu, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()));
  // Jinja filters gonja has and nunjucks lacks or reads differently (gonja/docs/filters.md).
  env.addFilter('format', (fmt: unknown, ...args: unknown[]) => {
    let i = 0;
    return gonjaString(fmt).replace(/%([sdif%])/g, (_m, c: string) => {
      if (c === '%') return '%';
      const a = args[i++];
      if (c === 's') return gonjaString(a);
      const n = Number(a);
      return c === 'f' ? n.toFixed(6) : String(Math.trunc(n));
    });
  });
  const attributeOf = (item: unknown, attribute: string): unknown =>
    attribute.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), item);
  env.addFilter('map', function (this: unknown, seq: unknown, ...rawArgs: unknown[]) {
    const items = Array.isArray(seq) ? seq : [];
    const kw = keywords(rawArgs);
    if (typeof kw.attribute === 'string') return items.map((x) => attributeOf(x, kw.attribute as string));
    const [name, ...rest] = positional(rawArgs);
    const filter = env.getFilter(String(name)) as (...a: unknown[]) => unknown;
    return items.map((x) => filter.call(this, x, ...rest));
  });
  env.addFilter('unique', (seq: unknown) => (Array.isArray(seq) ? [...new Set(seq)] : seq));
  env.addFilter('sum', (seq: unknown, ...rawArgs: unknown[]) => {
    const items = Array.isArray(seq) ? seq : [];
    const kw = keywords(rawArgs);
    const attribute = typeof kw.attribute === 'string' ? kw.attribute : undefined;
    const start = typeof kw.start === 'number' ? kw.start : 0;
    return items.reduce<number>((acc, x) => acc + Number(attribute ? attributeOf(x, attribute) : x), start);
  });
  // Jinja spells its constants True/False/None as well as true/false/none; nunjucks knows the latter.
  env.addGlobal('True', true);
  env.addGlobal('False', false);
  env.addGlobal('None', null);
  env.addFilter('forceescape', (v: unknown) => safe(escapeBash(gonjaString(v))));
  const tests = env as unknown as { addTest(name: string, fn: (...a: never[]) => boolean): void };
  tests.addTest('match', matchOrSearch(true));
  tests.addTest('search', matchOrSearch(false));
  // Jinja test names gonja has and nunjucks lacks (gonja/docs/tests.md).
  tests.addTest('sequence', ((v: unknown) => Array.isArray(v) || typeof v === 'string') as never);
  tests.addTest('boolean', ((v: unknown) => typeof v === 'boolean') as never);
  tests.addTest('integer', ((v: unknown) => typeof v === 'number' && Number.isInteger(v)) as never);
  tests.addTest('float', ((v: unknown) => typeof v === 'number' && !Number.isInteger(v)) as never);
  return env;
}

export interface RenderResult {
  ok: boolean;
  /** What the template printed, or the error that stopped it. */
  output: string;
}

/** The template's output for these values (the parameter file's contents plus the rank), no header. */
export function renderTemplate(template: string, values: Record<string, unknown>): RenderResult {
  try {
    const context = { ...values, ...scriptGenFunctions() };
    return { ok: true, output: environment().renderString(preprocessTemplate(template), context) };
  } catch (e) {
    return { ok: false, output: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The job script, as script-gen writes it: bash header, then the output; a template that fails
 * becomes a script that says why (IM2 does the same, so the user sees it in the job's log).
 */
export function renderScript(template: string, values: Record<string, unknown>, rank: number | undefined): string {
  const withRank = withRankOf(values, rank);
  const result = renderTemplate(template, withRank);
  const body = result.ok ? result.output : `echo ${escapeBash(`Failure during generation of script: ${result.output}`)}`;
  return SCRIPT_HEADER + body;
}

/** script-gen replaces `ucloud.rank` with UCLOUD_RANK when both are there. */
function withRankOf(values: Record<string, unknown>, rank: number | undefined): Record<string, unknown> {
  const ucloud = values.ucloud;
  if (rank === undefined || typeof ucloud !== 'object' || ucloud === null || Array.isArray(ucloud)) return values;
  return { ...values, ucloud: { ...(ucloud as Record<string, unknown>), rank } };
}

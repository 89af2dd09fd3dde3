import { InvocationError, renderEnvironment, renderInvocation } from '../../../src/translate/invocation.js';
import type { ApplicationInvocation, ApplicationParameter, AppParameterValue, InvocationParameter } from '../../../src/ucloud/job.js';
import { fixtureJob } from '../../support/fixtures.js';

type Values = Record<string, AppParameterValue>;
type VarPart = Extract<InvocationParameter, { type: 'var' }>;

const files = (p: string) => `/work/${p.split('/').pop()}`;
const app = (
  invocation: InvocationParameter[],
  parameters: ApplicationParameter[],
  environment?: ApplicationInvocation['environment'],
): ApplicationInvocation => ({
  tool: { name: 't', version: '1' },
  invocation,
  parameters,
  environment,
});
const word = (w: string): InvocationParameter => ({ type: 'word', word: w });
const v = (variableNames: string[], o: Partial<VarPart> = {}): InvocationParameter => ({
  type: 'var',
  variableNames,
  prefixGlobal: '',
  suffixGlobal: '',
  prefixVariable: '',
  suffixVariable: '',
  isPrefixVariablePartOfArg: false,
  isSuffixVariablePartOfArg: false,
  ...o,
});
const p = (type: ApplicationParameter['type'], name: string, o: Partial<ApplicationParameter> = {}): ApplicationParameter => ({
  type,
  name,
  optional: false,
  ...o,
});
const opt = (type: ApplicationParameter['type'], name: string, o: Partial<ApplicationParameter> = {}) => p(type, name, { optional: true, ...o });
const bool = (name: string, trueValue: string | null = 'true', falseValue: string | null = 'false') => opt('boolean', name, { trueValue, falseValue });
const int = (value: number): AppParameterValue => ({ type: 'integer', value });
const yes: AppParameterValue = { type: 'boolean', value: true };
const no: AppParameterValue = { type: 'boolean', value: false };
const text = (value: string): AppParameterValue => ({ type: 'text', value });

describe('renderInvocation: the spec example (ADR 0003)', () => {
  const acme = fixtureJob('create-simple-batch.json');
  const acmeApp = acme.status!.resolvedApplication!.invocation;
  const acmeValues = acme.specification.parameters!;

  it('renders acme-batch --debug "Hello, World!" as three argv words', () => {
    expect(renderInvocation(acmeApp, acmeValues, files)).toEqual(['acme-batch', '--debug', 'Hello, World!']);
  });

  it('drops the switch, prefix and all, when debug is false', () => {
    expect(renderInvocation(acmeApp, { ...acmeValues, debug: no }, files)).toEqual(['acme-batch', 'Hello, World!']);
  });
});

describe('renderInvocation', () => {
  const flag = (o: Partial<VarPart>) => [v(['b'], o)];
  const cases: Array<[string, InvocationParameter[], ApplicationParameter[], Values, string[]]> = [
    // UCloud's VariableInvocationParameter documentation examples.
    [
      'docs: one variable behind a global prefix',
      [v(['myVariable'], { prefixGlobal: '--count' })],
      [p('integer', 'myVariable')],
      { myVariable: int(42) },
      ['--count', '42'],
    ],
    [
      'docs: several variables behind one prefix',
      [v(['myVariable', 'mySecondVariable'], { prefixGlobal: '--count' })],
      [p('integer', 'myVariable'), p('integer', 'mySecondVariable')],
      { myVariable: int(42), mySecondVariable: int(120) },
      ['--count', '42', '120'],
    ],
    [
      'docs: prefix glued, suffix separate',
      [v(['myVariable'], { prefixGlobal: '--entries', prefixVariable: '--entry', suffixVariable: '--next', isPrefixVariablePartOfArg: true })],
      [p('integer', 'myVariable')],
      { myVariable: int(42) },
      ['--entries', '--entry42', '--next'],
    ],
    [
      'docs: complete example, prefix separate, suffix glued, global suffix',
      [
        v(['myVariable', 'mySecondVariable'], {
          prefixGlobal: '--entries',
          prefixVariable: '--entry',
          suffixVariable: '--next',
          suffixGlobal: '--endOfEntries',
          isSuffixVariablePartOfArg: true,
        }),
      ],
      [p('integer', 'myVariable'), p('text', 'mySecondVariable')],
      { myVariable: int(42), mySecondVariable: text('hello') },
      ['--entries', '--entry', '42--next', '--entry', 'hello--next', '--endOfEntries'],
    ],
    [
      'both glued',
      [v(['x'], { prefixVariable: '-I', suffixVariable: '/include', isPrefixVariablePartOfArg: true, isSuffixVariablePartOfArg: true })],
      [p('text', 'x')],
      { x: text('/opt') },
      ['-I/opt/include'],
    ],
    [
      'neither glued',
      [v(['x'], { prefixVariable: '-o', suffixVariable: '--', isPrefixVariablePartOfArg: false, isSuffixVariablePartOfArg: false })],
      [p('text', 'x')],
      { x: text('out') },
      ['-o', 'out', '--'],
    ],
    [
      'prefixes and suffixes are trimmed of spaces',
      [v(['x'], { prefixGlobal: '  --x ', suffixGlobal: ' ; ' })],
      [p('text', 'x')],
      { x: text('a') },
      ['--x', 'a', ';'],
    ],
    ['values are not trimmed', [v(['x'])], [p('text', 'x')], { x: text('  padded ') }, ['  padded ']],
    ["variables render in the part's order, not the values'", [v(['b', 'a'])], [p('integer', 'a'), p('integer', 'b')], { a: int(1), b: int(2) }, ['2', '1']],
    [
      'a missing optional value renders nothing, not even the prefix',
      [word('run'), v(['x'], { prefixGlobal: '--x', suffixGlobal: '--end' })],
      [opt('integer', 'x')],
      {},
      ['run'],
    ],
    ['an undeclared variable name renders nothing', [word('run'), v(['ghost'], { prefixGlobal: '--ghost' })], [], {}, ['run']],
    [
      'only present variables of a part render',
      [v(['a', 'b'], { prefixGlobal: '--n' })],
      [opt('integer', 'a'), opt('integer', 'b')],
      { b: int(7) },
      ['--n', '7'],
    ],
    [
      'text with spaces and quotes stays one word',
      [word('echo'), v(['t'])],
      [p('text', 't')],
      { t: text(`it's "quoted" $HOME; rm -rf / && echo \`id\``) },
      ['echo', `it's "quoted" $HOME; rm -rf / && echo \`id\``],
    ],
    ['textarea keeps its newlines in one word', [v(['t'])], [p('textarea', 't')], { t: { type: 'textarea', value: 'line 1\nline 2' } }, ['line 1\nline 2']],
    ['integer', [v(['n'])], [p('integer', 'n')], { n: int(-17) }, ['-17']],
    ['integers past 2^53 are plain digits, never 1e+21', [v(['n'])], [p('integer', 'n')], { n: int(1e21) }, ['1000000000000000000000']],
    ['floating point keeps its decimals', [v(['f'])], [p('floating_point', 'f')], { f: { type: 'floating_point', value: 1.5 } }, ['1.5']],
    ['small floating point', [v(['f'])], [p('floating_point', 'f')], { f: { type: 'floating_point', value: 0.0005 } }, ['0.0005']],
    ['a whole number sent for a floating point', [v(['f'])], [p('floating_point', 'f')], { f: int(3) }, ['3']],
    [
      'enumeration renders the option value for its name',
      [v(['e'], { prefixGlobal: '--solver' })],
      [
        p('enumeration', 'e', {
          options: [
            { name: 'Conjugate gradient', value: 'cg' },
            { name: 'GMRES', value: 'gmres' },
          ],
        }),
      ],
      { e: { type: 'enumeration', value: 'GMRES' } },
      ['--solver', 'gmres'],
    ],
    [
      'enumeration without a matching option renders the value',
      [v(['e'])],
      [p('enumeration', 'e', { options: [{ name: 'A', value: 'a' }] })],
      { e: { type: 'enumeration', value: 'b' } },
      ['b'],
    ],
    ['enumeration sent as text (IM2 form)', [v(['e'])], [p('enumeration', 'e', { options: [{ name: 'A', value: 'a' }] })], { e: text('A') }, ['a']],
    ['custom true value renders as IM2', flag({ prefixGlobal: '--flag' }), [bool('b', 'yes', 'no')], { b: yes }, ['--flag', 'yes']],
    ['custom false value renders as IM2', flag({ prefixGlobal: '--flag' }), [bool('b', 'yes', 'no')], { b: no }, ['--flag', 'no']],
    ['a flag as the true value', [word('run'), v(['b'])], [bool('b', '--verbose', '')], { b: yes }, ['run', '--verbose']],
    ['default literal without any prefix renders the literal', [v(['b'])], [bool('b')], { b: yes }, ['true']],
    ['default literal false without any prefix renders the literal', [v(['b'])], [bool('b', null, null)], { b: no }, ['false']],
    ['switch with null true value', flag({ prefixGlobal: '--debug' }), [bool('b', null, null)], { b: yes }, ['--debug']],
    ['switch with empty true value', flag({ prefixGlobal: '--debug' }), [bool('b', '', '')], { b: yes }, ['--debug']],
    ['switch through prefixVariable', flag({ prefixVariable: '--debug' }), [bool('b')], { b: yes }, ['--debug']],
    [
      'false switch through prefixVariable renders nothing',
      [word('x'), ...flag({ prefixVariable: '--debug', suffixGlobal: '--end' })],
      [bool('b')],
      { b: no },
      ['x'],
    ],
    ['switch keeps the global suffix', flag({ prefixGlobal: '--debug', suffixGlobal: '--end' }), [bool('b')], { b: yes }, ['--debug', '--end']],
    ['custom true with default false: true renders as IM2', flag({ prefixGlobal: '--mode' }), [bool('b', 'fast', null)], { b: yes }, ['--mode', 'fast']],
    ['custom true with default false: false is a switch', [word('x'), ...flag({ prefixGlobal: '--mode' })], [bool('b', 'fast', null)], { b: no }, ['x']],
    [
      'a boolean glued to its prefix keeps its value',
      flag({ prefixVariable: '--debug=', isPrefixVariablePartOfArg: true }),
      [bool('b')],
      { b: no },
      ['--debug=false'],
    ],
    [
      'a boolean glued to its suffix keeps its value',
      flag({ prefixGlobal: '-D', suffixVariable: '!', isSuffixVariablePartOfArg: true }),
      [bool('b')],
      { b: yes },
      ['-D', 'true!'],
    ],
    [
      'a false switch next to another value keeps the prefix',
      [v(['b', 'n'], { prefixGlobal: '--opts' })],
      [bool('b'), p('integer', 'n')],
      { b: no, n: int(4) },
      ['--opts', '4'],
    ],
    ['bool_flag emits its flag when true', [{ type: 'bool_flag', variableName: 'b', flag: ' --fast ' }], [bool('b')], { b: yes }, ['--fast']],
    ['bool_flag emits nothing when false', [{ type: 'bool_flag', variableName: 'b', flag: '--fast' }], [bool('b')], { b: no }, []],
    ['bool_flag emits nothing without a value', [{ type: 'bool_flag', variableName: 'b', flag: '--fast' }], [bool('b')], {}, []],
    ['env references on the command line are $VAR', [word('echo'), { type: 'env', variable: 'HOME' }], [], {}, ['echo', '$HOME']],
    ['words render as they are', [word('a b'), word('')], [], {}, ['a b', '']],
    [
      'input files go through the file mapper',
      [v(['in'], { prefixGlobal: '-i' })],
      [p('input_file', 'in')],
      { in: { type: 'file', path: '/123/data/a.csv' } },
      ['-i', '/work/a.csv'],
    ],
    ['input directories go through the file mapper', [v(['d'])], [p('input_directory', 'd')], { d: { type: 'file', path: '/123/data' } }, ['/work/data']],
    ['peers render their hostname', [v(['p'])], [p('peer', 'p')], { p: { type: 'peer', hostname: 'db', jobId: '9' } }, ['db']],
    ['license servers render their id', [v(['l'])], [p('license_server', 'l')], { l: { type: 'license_server', id: 'lic-1' } }, ['lic-1']],
    ['ingresses render their id', [v(['i'])], [p('ingress', 'i')], { i: { type: 'ingress', id: 'ing-1' } }, ['ing-1']],
    ['network IPs render their id', [v(['n'])], [p('network_ip', 'n')], { n: { type: 'network', id: 'ip-1' } }, ['ip-1']],
    ['typed defaults are used when no value is given', [v(['n'])], [p('integer', 'n', { defaultValue: { type: 'integer', value: 7 } })], {}, ['7']],
    ['primitive defaults are accepted', [v(['n'])], [p('integer', 'n', { defaultValue: 5 })], {}, ['5']],
    ['wrapped defaults without a type are accepted (IM2)', [v(['t'])], [p('text', 't', { defaultValue: { value: 'x' } })], {}, ['x']],
    ['boolean defaults feed bool_flag', [{ type: 'bool_flag', variableName: 'b', flag: '--on' }], [opt('boolean', 'b', { defaultValue: true })], {}, ['--on']],
    ['a given value beats the default', [v(['n'])], [p('integer', 'n', { defaultValue: 5 })], { n: int(6) }, ['6']],
    ['a default of the wrong type is no default', [v(['n'])], [opt('integer', 'n', { defaultValue: 'five' })], {}, []],
    [
      'file defaults are never used: UCloud did not authorise them',
      [v(['f'])],
      [opt('input_file', 'f', { defaultValue: { type: 'file', path: '/other-user/secret' } })],
      {},
      [],
    ],
    ['values for unknown parameters are ignored', [word('x')], [], { stray: text('y') }, ['x']],
  ];
  it.each(cases)('%s', (_name, invocation, parameters, values, expected) => {
    expect(renderInvocation(app(invocation, parameters), values, files)).toEqual(expected);
  });

  const failures: Array<[string, ApplicationParameter[], Values, string, InvocationError['reason']]> = [
    ['a missing required value', [p('integer', 'n')], {}, 'n', 'missing'],
    ['a required value whose default is unusable', [p('integer', 'n', { defaultValue: 'x' })], {}, 'n', 'missing'],
    ['text for an integer', [p('integer', 'n')], { n: text('5') }, 'n', 'type'],
    ['a float for an integer', [p('integer', 'n')], { n: { type: 'floating_point', value: 1.5 } }, 'n', 'type'],
    ['an integer for a boolean', [bool('b')], { b: int(1) }, 'b', 'type'],
    ['a file for text', [p('text', 't')], { t: { type: 'file', path: '/a' } }, 't', 'type'],
    ['text for a file', [p('input_file', 'f')], { f: text('/a') }, 'f', 'type'],
    ['a network for a license server', [p('license_server', 'l')], { l: { type: 'network', id: 'x' } }, 'l', 'type'],
    ['a NUL character in text', [p('text', 't')], { t: text('a\u0000b') }, 't', 'value'],
  ];
  it.each(failures)('rejects %s, naming the parameter', (_name, parameters, values, parameter, reason) => {
    const render = () => renderInvocation(app([v(parameters.map((x) => x.name))], parameters), values, files);
    expect(render).toThrow(InvocationError);
    expect(render).toThrow(`"${parameter}"`);
    try {
      render();
    } catch (e) {
      expect({ parameter: (e as InvocationError).parameter, reason: (e as InvocationError).reason }).toEqual({ parameter, reason });
    }
  });

  it('checks parameters the invocation never uses', () => {
    expect(() => renderInvocation(app([word('x')], [p('text', 'unused')]), {}, files)).toThrow(InvocationError);
  });

  it('does not read inherited properties as values', () => {
    expect(renderInvocation(app([v(['constructor'])], [opt('text', 'constructor')]), {}, files)).toEqual([]);
  });
});

describe('renderEnvironment', () => {
  const environment: ApplicationInvocation['environment'] = {
    OMP_NUM_THREADS: word('8'),
    LABEL: v(['label']),
    OPTS: v(['n', 'b'], { prefixGlobal: '--threads' }),
    DATA: v(['data']),
    PATH_COPY: { type: 'env', variable: 'PATH' },
    FAST: { type: 'bool_flag', variableName: 'b', flag: '--fast' },
    EMPTY: v(['missing']),
  };
  const parameters = [opt('text', 'label'), opt('integer', 'n'), bool('b'), opt('input_directory', 'data'), opt('text', 'missing')];

  it('renders each variable, joining words with spaces and env parts as $(VAR)', () => {
    const values: Values = { label: text('run 1'), n: int(4), b: yes, data: { type: 'file', path: '/7/in' } };
    expect(renderEnvironment(app([], parameters, environment), values, files)).toEqual([
      { name: 'OMP_NUM_THREADS', value: '8' },
      { name: 'LABEL', value: 'run 1' },
      { name: 'OPTS', value: '--threads 4' },
      { name: 'DATA', value: '/work/in' },
      { name: 'PATH_COPY', value: '$(PATH)' },
      { name: 'FAST', value: '--fast' },
      { name: 'EMPTY', value: '' },
    ]);
  });

  it('sets variables whose parts render nothing to the empty string, as IM2 does', () => {
    expect(renderEnvironment(app([], parameters, environment), {}, files)).toEqual([
      { name: 'OMP_NUM_THREADS', value: '8' },
      { name: 'LABEL', value: '' },
      { name: 'OPTS', value: '' },
      { name: 'DATA', value: '' },
      { name: 'PATH_COPY', value: '$(PATH)' },
      { name: 'FAST', value: '' },
      { name: 'EMPTY', value: '' },
    ]);
  });

  it('uses defaults and the ADR 0003 switch like the command line', () => {
    const a = app([], [opt('text', 'mode', { defaultValue: 'fast' }), bool('debug')], { MODE: v(['mode']), DEBUG: v(['debug'], { prefixGlobal: '-d' }) });
    expect(renderEnvironment(a, { debug: yes }, files)).toEqual([
      { name: 'MODE', value: 'fast' },
      { name: 'DEBUG', value: '-d' },
    ]);
  });

  it('has no environment when the application declares none', () => {
    expect(renderEnvironment(app([word('x')], []), {}, files)).toEqual([]);
  });

  it('rejects what the command line rejects', () => {
    expect(() => renderEnvironment(app([], [p('integer', 'n')], {}), { n: text('x') }, files)).toThrow(InvocationError);
  });
});

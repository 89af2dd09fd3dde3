import { renderEnvironment, renderInvocation, InvocationError } from '../../../src/translate/invocation.js';
import type { ApplicationInvocation, AppParameterValue, InvocationParameter } from '../../../src/ucloud/job.js';
import { fixtureJob } from '../../support/fixtures.js';

const files = (p: string) => `/work/${p.split('/').pop()}`;

function app(invocation: InvocationParameter[], parameters: ApplicationInvocation['parameters'], environment?: ApplicationInvocation['environment']): ApplicationInvocation {
  return { tool: { name: 't', version: '1' }, invocation, parameters, environment };
}
const v = (variableNames: string[], o: Partial<Extract<InvocationParameter, { type: 'var' }>> = {}): InvocationParameter => ({
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
const int = (name: string, optional = false) => ({ type: 'integer' as const, name, optional });
const text = (name: string, optional = false) => ({ type: 'text' as const, name, optional });
const bool = (name: string, trueValue: string | null = 'true', falseValue: string | null = 'false') => ({
  type: 'boolean' as const,
  name,
  optional: true,
  trueValue,
  falseValue,
});

describe('renderInvocation', () => {
  const acme = fixtureJob('create-simple-batch.json');
  const acmeApp = acme.status!.resolvedApplication!.invocation;

  it('renders the spec example as acme-batch --debug "Hello, World!" (three argv words)', () => {
    expect(renderInvocation(acmeApp, acme.specification.parameters!, files)).toEqual(['acme-batch', '--debug', 'Hello, World!']);
  });

  it('drops the switch when the boolean is false', () => {
    const values = { ...acme.specification.parameters!, debug: { type: 'boolean', value: false } } as Record<string, AppParameterValue>;
    expect(renderInvocation(acmeApp, values, files)).toEqual(['acme-batch', 'Hello, World!']);
  });

  const cases: Array<[string, ApplicationInvocation, Record<string, AppParameterValue>, string[]]> = [
    [
      'UCloud docs: prefix glued, suffix separate',
      app([v(['myVariable'], { prefixGlobal: '--entries', prefixVariable: '--entry', suffixVariable: '--next', isPrefixVariablePartOfArg: true })], [int('myVariable')]),
      { myVariable: { type: 'integer', value: 42 } },
      ['--entries', '--entry42', '--next'],
    ],
    [
      'UCloud docs: several variables behind one prefix',
      app([v(['a', 'b'], { prefixGlobal: '--count' })], [int('a'), int('b')]),
      { a: { type: 'integer', value: 42 }, b: { type: 'integer', value: 120 } },
      ['--count', '42', '120'],
    ],
    [
      'suffix glued, prefix separate, global suffix',
      app([v(['x'], { prefixVariable: '-o', suffixVariable: '.txt', isSuffixVariablePartOfArg: true, suffixGlobal: '--end' })], [text('x')]),
      { x: { type: 'text', value: 'out' } },
      ['-o', 'out.txt', '--end'],
    ],
    ['a missing optional value renders nothing, not even the prefix', app([{ type: 'word', word: 'run' }, v(['x'], { prefixGlobal: '--x' })], [int('x', true)]), {}, ['run']],
    [
      'text with spaces and quotes stays one word',
      app([v(['t'])], [text('t')]),
      { t: { type: 'text', value: `it's "quoted" $HOME; rm -rf /` } },
      [`it's "quoted" $HOME; rm -rf /`],
    ],
    ['floating point keeps decimals', app([v(['f'])], [{ type: 'floating_point', name: 'f' }]), { f: { type: 'floating_point', value: 0.0005 } }, ['0.0005']],
    ['large integers are plain digits', app([v(['n'])], [int('n')]), { n: { type: 'integer', value: 9007199254740991 } }, ['9007199254740991']],
    [
      'enumeration renders the option value for its name',
      app([v(['e'], { prefixGlobal: '--solver' })], [{ type: 'enumeration', name: 'e', options: [{ name: 'Conjugate gradient', value: 'cg' }] }]),
      { e: { type: 'enumeration', value: 'Conjugate gradient' } },
      ['--solver', 'cg'],
    ],
    ['custom trueValue renders as IM2 does', app([v(['b'], { prefixGlobal: '--flag' })], [bool('b', 'yes', 'no')]), { b: { type: 'boolean', value: false } }, ['--flag', 'no']],
    ['boolean without a prefix renders its literal', app([v(['b'])], [bool('b')]), { b: { type: 'boolean', value: true } }, ['true']],
    ['bool_flag emits its flag when true', app([{ type: 'bool_flag', variableName: 'b', flag: '--fast' }], [bool('b')]), { b: { type: 'boolean', value: true } }, ['--fast']],
    ['bool_flag emits nothing when false', app([{ type: 'bool_flag', variableName: 'b', flag: '--fast' }], [bool('b')]), { b: { type: 'boolean', value: false } }, []],
    ['env references on the command line', app([{ type: 'word', word: 'echo' }, { type: 'env', variable: 'HOME' }], []), {}, ['echo', '$HOME']],
    ['input files map to their mount path', app([v(['in'])], [{ type: 'input_file', name: 'in' }]), { in: { type: 'file', path: '/123/data/a.csv' } }, ['/work/a.csv']],
    ['defaults are used when no value is given', app([v(['n'])], [{ ...int('n'), defaultValue: { type: 'integer', value: 7 } }]), {}, ['7']],
    ['primitive defaults are accepted', app([v(['n'])], [{ ...int('n'), defaultValue: 5 }]), {}, ['5']],
    ['peers render their hostname', app([v(['p'])], [{ type: 'peer', name: 'p' }]), { p: { type: 'peer', hostname: 'db', jobId: '9' } }, ['db']],
    ['values for unknown parameters are ignored', app([{ type: 'word', word: 'x' }], []), { stray: { type: 'text', value: 'y' } }, ['x']],
  ];
  it.each(cases)('%s', (_name, application, values, expected) => {
    expect(renderInvocation(application, values, files)).toEqual(expected);
  });

  it('rejects a missing required value, naming the parameter', () => {
    expect(() => renderInvocation(app([v(['n'])], [int('n')]), {}, files)).toThrow(new InvocationError('n', 'parameter "n" is required but has no value'));
  });

  it('rejects a value of the wrong type, naming the parameter', () => {
    try {
      renderInvocation(app([v(['n'])], [int('n')]), { n: { type: 'text', value: '5' } }, files);
      throw new Error('expected a rejection');
    } catch (e) {
      expect(e).toBeInstanceOf(InvocationError);
      expect((e as InvocationError).parameter).toBe('n');
      expect((e as Error).message).toContain('integer');
    }
  });
});

describe('renderEnvironment', () => {
  it('renders words, variables and $(VAR) references', () => {
    const a = app([], [text('label', true)], {
      OMP_NUM_THREADS: { type: 'word', word: '8' },
      LABEL: v(['label']),
      PATH_COPY: { type: 'env', variable: 'PATH' },
      EMPTY: v(['label']),
    });
    expect(renderEnvironment(a, { label: { type: 'text', value: 'run 1' } }, files)).toEqual([
      { name: 'OMP_NUM_THREADS', value: '8' },
      { name: 'LABEL', value: 'run 1' },
      { name: 'PATH_COPY', value: '$(PATH)' },
      { name: 'EMPTY', value: 'run 1' },
    ]);
    expect(renderEnvironment(a, {}, files).map((e) => e.name)).toEqual(['OMP_NUM_THREADS', 'PATH_COPY']);
  });
});

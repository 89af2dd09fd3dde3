// The renderer against UCloud's own: every case of test/fixtures/jinja/gonja-cases.json (gonja's
// documentation examples, IM2's documented flag/option examples, UCloud's match/search tests,
// autoescape and printing) was rendered by gonja configured as IM2's script-gen configures it.
import { escapeBash, gonjaString, preprocessTemplate, renderScript, renderTemplate, SCRIPT_HEADER } from '../../../src/render-invocation/engine.js';
import { gonjaCases } from '../../support/jinja-fixtures.js';

const cases = gonjaCases();
const same = cases.filter((c) => !c.knownDifference);
const different = cases.filter((c) => c.knownDifference);

describe('renders as gonja does (IM2 script-gen)', () => {
  it('covers the documented filters, tests and control structures', () => {
    expect(same.length).toBeGreaterThanOrEqual(70);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(same.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const got = renderTemplate(c.template, structuredClone(c.context));
    if ('output' in c.expected) {
      expect(got).toEqual({ ok: true, output: c.expected.output });
    } else {
      // Error texts differ between engines; that the template is refused is what must agree.
      expect(got.ok).toBe(false);
      expect(got.output).not.toBe('');
    }
  });

  // Recorded in docs/adr/0012: if a nunjucks upgrade closes one, this says so.
  it.each(different.map((c) => [c.name, c] as const))('known difference: %s', (_name, c) => {
    const got = renderTemplate(c.template, structuredClone(c.context));
    const agrees = 'output' in c.expected ? got.ok && got.output === c.expected.output : !got.ok;
    expect(agrees).toBe(false);
  });
});

describe('bash escaping and printing', () => {
  it('quotes one word, quotes inside closed and reopened', () => {
    expect(escapeBash("it's")).toBe(`'it'"'"'s'`);
    expect(escapeBash('')).toBe("''");
    expect(escapeBash('$(x) `y` "z"')).toBe(`'$(x) \`y\` "z"'`);
  });

  it('a value cannot leave its quotes', () => {
    const hostile = `'; touch /tmp/pwned; echo '`;
    const out = renderTemplate('echo {{ v }}', { v: hostile });
    expect(out).toEqual({ ok: true, output: `echo ${escapeBash(hostile)}` });
  });

  it('prints values as gonja does', () => {
    expect(gonjaString(true)).toBe('True');
    expect(gonjaString(2.5)).toBe('2.5');
    expect(gonjaString(0.30000000000000004)).toBe('0.3');
    expect(gonjaString(['a', 1])).toBe("['a', 1]");
    expect(gonjaString({ b: 'x', a: 1 })).toBe("{'a': 1, 'b': 'x'}");
    expect(gonjaString(null)).toBe('');
  });
});

describe('the script', () => {
  it('starts with the bash header and sees the rank', () => {
    expect(renderScript('rank={{ ucloud.rank }}', { ucloud: { rank: 0 } }, 3)).toBe(`${SCRIPT_HEADER}rank=3`);
    // No UCLOUD_RANK: the value the operator wrote (0) stays.
    expect(renderScript('rank={{ ucloud.rank }}', { ucloud: { rank: 0 } }, undefined)).toBe(`${SCRIPT_HEADER}rank=0`);
  });

  it('a template that fails becomes a script that says why', () => {
    const script = renderScript('{% if %}', {}, 0);
    expect(script.startsWith(`${SCRIPT_HEADER}echo 'Failure during generation of script: `)).toBe(true);
    // One command: the message is one bash word, however many lines it has.
    expect(script.slice(SCRIPT_HEADER.length).startsWith("echo '")).toBe(true);
    expect(script.endsWith("'")).toBe(true);
  });

  it('{- fn("arg") -} calls become comments: Kubernetes knows no template functions', () => {
    expect(preprocessTemplate('a{- loadModule("gcc", "12") -}b')).toBe('a\n# unknown function loadModule\nb');
    expect(preprocessTemplate('{-nospace-}')).toBe('{-nospace-}');
  });

  it('include, import and extends read no file', () => {
    for (const t of ["{% include '/etc/passwd' %}", "{% import '/etc/passwd' as x %}", '{% extends "/etc/passwd" %}']) {
      const out = renderTemplate(t, {});
      expect(out.ok).toBe(false);
      expect(out.output).not.toContain('root:');
    }
  });
});

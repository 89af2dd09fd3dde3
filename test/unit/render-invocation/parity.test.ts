// A v2 job end to end against IM2's own pipeline: for each Go-shaped job in test/fixtures/jinja/,
// the operator's translation gives the template and values IM2's handleJinjaInvocation writes
// (<name>.im2/template.j2, values.json), and the renderer gives, rank by rank, the script IM2's
// script-gen writes (<name>.im2/script-<rank>.sh). docs/adr/0012 says how those were produced.
import { renderScript } from '../../../src/render-invocation/engine.js';
import { SCRIPT_PATH } from '../../../src/render-invocation/layout.js';
import { jobToSpec, TranslationError } from '../../../src/translate/job-to-spec.js';
import { CORE2_V2, fixtureJob } from '../../support/fixtures.js';
import { im2Output, JINJA_JOBS, jinjaConfig, jinjaJob } from '../../support/jinja-fixtures.js';

const config = jinjaConfig();

describe.each(JINJA_JOBS)('%s', (name) => {
  const job = jinjaJob(name);
  const spec = jobToSpec(job, config);
  const im2 = im2Output(name, spec.replicas);

  it('runs the rendered script', () => {
    expect(spec.command).toEqual([SCRIPT_PATH]);
    expect(spec.invocationTemplate).toBeDefined();
  });

  it("carries IM2's template (workflow job templates appended) and values", () => {
    expect(spec.invocationTemplate!.template).toBe(im2.template);
    expect(JSON.parse(spec.invocationTemplate!.values)).toEqual(im2.values);
  });

  it("renders IM2's script for every rank", () => {
    const values = JSON.parse(spec.invocationTemplate!.values) as Record<string, unknown>;
    expect(im2.scripts).toHaveLength(spec.replicas);
    im2.scripts.forEach((expected, rank) => expect(renderScript(spec.invocationTemplate!.template, values, rank)).toBe(expected));
  });
});

// core2's v2 job fixture (marshalled from UCloud's Go types, test/fixtures/README.md), through
// IM2's pipeline the same way (core2-v2.im2/).
describe('core2 v2 fixture', () => {
  it("gives IM2's template, values and script", () => {
    const withProduct = jinjaConfig({ products: [{ id: 'example-compute-1', category: 'example-compute', cpu: 1, memoryInGigs: 2 }] });
    const spec = jobToSpec(fixtureJob(CORE2_V2), withProduct);
    const im2 = im2Output('core2-v2', spec.replicas);
    expect(spec.invocationTemplate!.template).toBe(im2.template);
    expect(JSON.parse(spec.invocationTemplate!.values)).toEqual(im2.values);
    expect(renderScript(spec.invocationTemplate!.template, JSON.parse(spec.invocationTemplate!.values), 0)).toBe(im2.scripts[0]);
  });
});

describe('what the fixtures exercise', () => {
  it('ranks differ, workflows append, values are escaped', () => {
    const terminal = im2Output('v2-terminal', 2);
    expect(terminal.scripts[0]).toContain('# ▶ code for the master node (rank = 0)');
    expect(terminal.scripts[1]).toContain('# ▶ code for worker nodes (rank > 0)');
    const flags = im2Output('v2-flags', 2);
    expect(flags.template).toMatch(/\necho workflow threads=\{\{ threads \}\}/);
    expect(flags.scripts[0]).toContain(`run --input '/work/in put.csv' '--threads=16' '-r0.25'`);
    expect(flags.values).not.toHaveProperty('undeclared');
    expect(flags.values._injected_token).toBe('');
  });
});

describe('refusals', () => {
  it('a jinja application without a renderer image is refused, naming the setting', () => {
    const noImage = jinjaConfig({ jobs: { allowRunAsRoot: true, sharedStorage: { claimName: 'ucloud-files' } } });
    let error: unknown;
    try {
      jobToSpec(jinjaJob('v2-flags'), noImage);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TranslationError);
    expect((error as TranslationError).errorCode).toBe('UNSUPPORTED_INVOCATION');
    expect((error as TranslationError).why).toContain('jobs.invocationRenderer.image');
  });
});

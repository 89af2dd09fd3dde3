import { specProblems } from '../../../src/controller/spec-check.js';
import { jobToResource } from '../../../src/translate/job-to-spec.js';
import { unitConfig } from '../../support/config.js';
import { CORE2_LEGACY, CORE2_V2, fixtureJob } from '../../support/fixtures.js';

const config = unitConfig();

describe('specProblems for core2 jobs', () => {
  it('a legacy-application job can run', () => {
    expect(specProblems(jobToResource(fixtureJob(CORE2_LEGACY), config), config)).toEqual([]);
  });

  it('a jinja invocation is refused by name while this build cannot render it, not run as the image entry point', () => {
    expect(specProblems(jobToResource(fixtureJob(CORE2_V2), config), config)).toEqual([
      'spec.invocationTemplate: this build of the operator cannot render jinja invocations',
    ]);
  });

  it('an empty command without a template is refused', () => {
    const job = jobToResource(fixtureJob(CORE2_LEGACY), config);
    job.spec.command = [];
    expect(specProblems(job, config)).toEqual(['spec.command: empty (only a jinja invocation renders its command in the pod)']);
  });
});

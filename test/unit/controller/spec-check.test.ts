import { specProblems } from '../../../src/controller/spec-check.js';
import { jobToResource } from '../../../src/translate/job-to-spec.js';
import { unitConfig } from '../../support/config.js';
import { CORE2_LEGACY, CORE2_V2, fixtureJob } from '../../support/fixtures.js';

const config = unitConfig();

describe('specProblems for core2 jobs', () => {
  it('a legacy-application job can run', () => {
    expect(specProblems(jobToResource(fixtureJob(CORE2_LEGACY), config), config)).toEqual([]);
  });

  it('a jinja invocation can run (its init container renders it), but not without a renderer image', () => {
    const job = jobToResource(fixtureJob(CORE2_V2), config);
    expect(specProblems(job, config)).toEqual([]);
    expect(specProblems(job, unitConfig({ jobs: { invocationRenderer: {} } }))).toEqual([
      'spec.invocationTemplate: no jobs.invocationRenderer.image is configured to render it',
    ]);
  });

  it('an empty command without a template is refused', () => {
    const job = jobToResource(fixtureJob(CORE2_LEGACY), config);
    job.spec.command = [];
    expect(specProblems(job, config)).toEqual(['spec.command: empty']);
  });
});

describe('specProblems for a job folder', () => {
  const site = unitConfig({ jobs: { jobFolder: { claimName: 'ucloud-home' } } });
  it('a translated job folder can run; one edited to escape its claim, or to name no claim, cannot', () => {
    const job = jobToResource(fixtureJob(CORE2_LEGACY), site);
    expect(specProblems(job, site)).toEqual([]);
    job.spec.jobFolder = { claimName: 'Not A Claim', subPath: 'home/../../etc' };
    expect(specProblems(job, site)).toEqual([
      'spec.jobFolder.subPath: must be relative and must not contain ".."',
      'spec.jobFolder.claimName: not a PersistentVolumeClaim name',
    ]);
  });
});

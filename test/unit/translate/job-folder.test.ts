// The job folder's path templates (src/translate/job-folder.ts) and what jobToSpec records from
// them: IM2's layout for home and project jobs, user-controlled values kept to one path segment,
// the per-drive claim of the user's own drive, JobParameters.json as core2 sent it.
import fc from 'fast-check';
import { expandTemplate, jobFolderPaths, templateProblem, titleSegment } from '../../../src/translate/job-folder.js';
import { jobToSpec } from '../../../src/translate/job-to-spec.js';
import { PathError } from '../../../src/translate/storage-paths.js';
import { ConfigError } from '../../../src/config.js';
import type { Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { fixtureJob, fixtureJson } from '../../support/fixtures.js';
import { RUNS, SEED } from '../fuzz/fuzz-support.js';
import { translationError } from '../../support/fixtures.js';

const IM2_LAYOUT = {
  volumePath: { home: 'home/{user}/Jobs/{appTitle}/{jobId}', project: "projects/{project}/Members' Files/{user}/Jobs/{appTitle}/{jobId}" },
};

describe('job folder templates', () => {
  it("expand to IM2's home and project member-files folders", () => {
    expect(jobFolderPaths(IM2_LAYOUT, { user: 'alice#1234', appTitle: 'Acme batch', jobId: '54112' })).toEqual({
      volumePath: 'home/alice#1234/Jobs/Acme batch/54112',
    });
    expect(jobFolderPaths(IM2_LAYOUT, { user: 'alice#1234', project: 'p-1', appTitle: 'Acme batch', jobId: '54112' })).toEqual({
      volumePath: "projects/p-1/Members' Files/alice#1234/Jobs/Acme batch/54112",
    });
  });

  it('expand the UCloud path too when the site configures one', () => {
    const t = { ...IM2_LAYOUT, ucloudPath: { home: '/home-{user}/Jobs/{appTitle}/{jobId}', project: '/{project}/Jobs/{appTitle}/{jobId}' } };
    expect(jobFolderPaths(t, { user: 'alice', appTitle: 'App', jobId: '7' }).ucloudPath).toBe('/home-alice/Jobs/App/7');
    expect(jobFolderPaths(t, { user: 'alice', project: 'p1', appTitle: 'App', jobId: '7' }).ucloudPath).toBe('/p1/Jobs/App/7');
  });

  it.each([
    ['a separator in the user', { user: 'alice/../bob' }, '{user} contains a path separator'],
    ['a backslash in the user', { user: 'a\\b' }, '{user} contains a path separator'],
    ['".." in the user (IM2 refuses it too)', { user: 'a..b' }, '{user} contains ".."'],
    ['"." as the user', { user: '.' }, '{user} is "."'],
    ['an empty user', { user: '' }, '{user} is empty'],
    ['a control character in the user', { user: 'a\nb' }, '{user} contains control characters'],
    ['a separator in the project', { user: 'alice', project: 'p/../q' }, '{project} contains a path separator'],
  ])('refuse %s', (_what, values, message) => {
    expect(() => jobFolderPaths(IM2_LAYOUT, { appTitle: 'App', jobId: '1', ...values })).toThrow(new PathError(message));
  });

  it('refuse a value the path rules refuse after expansion (an encoded separator)', () => {
    expect(() => jobFolderPaths(IM2_LAYOUT, { user: 'a%2fb', appTitle: 'App', jobId: '1' })).toThrow(PathError);
  });

  it('turn separators and control characters of an app title into "_", and refuse a title that names no folder', () => {
    expect(titleSegment(' R/Studio\\x\tbeta ')).toBe('R_Studio_x_beta');
    expect(titleSegment('..a..')).toBe('..a..');
    for (const bad of ['', '  ', '.', '..']) expect(() => titleSegment(bad)).toThrow(PathError);
  });

  it('refuse a placeholder without a value and an unknown one', () => {
    expect(() => expandTemplate('{project}/{jobId}', { jobId: '1' })).toThrow('{project} has no value for this job');
    expect(() => expandTemplate('{home}/{jobId}', { jobId: '1' })).toThrow('unknown placeholder {home}');
    expect(() => expandTemplate('{jobId', { jobId: '1' })).toThrow('unbalanced');
  });

  it.each([
    ['home/{user}/Jobs', 'home', false, 'must contain {jobId}: two jobs must never share a folder'],
    ['p/{project}/{jobId}', 'home', false, 'a home template cannot use {project}'],
    ['/home/{user}/{jobId}', 'home', false, 'must be relative to the volume root'],
    ['home/{user}/{jobId}', 'home', true, 'must be an absolute UCloud path'],
    ['home/../{user}/{jobId}', 'home', false, 'path contains a ".." segment'],
    ['home//{jobId}', 'project', false, 'path contains an empty segment ("//")'],
  ] as const)('a site template %j (%s, absolute: %s) is refused: %s', (template, kind, absolute, problem) => {
    expect(templateProblem(template, kind, absolute)).toBe(problem);
  });

  it('a bad template stops the configuration from loading, naming the setting', () => {
    expect(() => unitConfig({ jobs: { jobFolder: { claimName: 'c', volumePath: { home: 'home/{user}' } } } })).toThrow(
      /jobs\.jobFolder\.volumePath\.home: must contain \{jobId\}/,
    );
    expect(() => unitConfig({ jobs: { jobFolder: {} } })).toThrow(/jobs\.jobFolder: jobs\.jobFolder needs claimName, perDriveClaim or jobs\.sharedStorage/);
    expect(() => unitConfig({ jobs: { jobFolder: { claimName: 'c' }, workVolume: { type: 'pvc', claimName: 'w' } } })).toThrow(ConfigError);
  });
});

describe('jobToSpec with jobs.jobFolder', () => {
  const site = unitConfig({
    jobs: {
      jobFolder: { claimName: 'ucloud-home', ucloudPath: { home: '/home-{user}/Jobs/{appTitle}/{jobId}', project: '/{project}/Jobs/{appTitle}/{jobId}' } },
    },
  });
  const core2Job = (): Job => fixtureJob('core2-legacy-app-job.json');
  const refusal = (job: Job, cfg = site) => translationError(job, cfg);

  it('records the folder on the claim, its UCloud path, and the parameters exactly as core2 sent them', () => {
    const spec = jobToSpec(core2Job(), site);
    expect(spec.jobFolder).toEqual({
      claimName: 'ucloud-home',
      subPath: "projects/8f1c2a3e-project/Members' Files/user#1234/Jobs/Legacy batch/1001",
      ucloudPath: '/8f1c2a3e-project/Jobs/Legacy batch/1001',
    });
    const sent = (fixtureJson('core2-legacy-app-job.json') as { items: Array<{ status: { jobParametersJson: unknown } }> }).items[0]!.status.jobParametersJson;
    expect(JSON.parse(spec.jobParameters!)).toEqual(sent);
  });

  it('writes no JobParameters.json when Core sent none or siteVersion 0 (as IM2)', () => {
    const none = core2Job();
    delete none.status!.jobParametersJson;
    expect(jobToSpec(none, site)).not.toHaveProperty('jobParameters');
    const zero = core2Job();
    zero.status!.jobParametersJson = { siteVersion: 0 };
    expect(jobToSpec(zero, site)).not.toHaveProperty('jobParameters');
  });

  it('names the folder after the job\'s name for IM2\'s "unknown" application', () => {
    const j = fixtureJob('create-simple-batch.json');
    j.status!.resolvedApplication!.metadata.name = 'unknown';
    j.specification.name = 'my run';
    expect(jobToSpec(j, site).jobFolder?.subPath).toBe('home/user/Jobs/my run/54112');
  });

  it('mounts the folder from the per-drive claim of the drive the volume path starts with', () => {
    const perDrive = unitConfig({ jobs: { jobFolder: { perDriveClaim: 'drive-{drive}', volumePath: { home: 'home-{user}/Jobs/{appTitle}/{jobId}' } } } });
    expect(jobToSpec(fixtureJob('create-simple-batch.json'), perDrive).jobFolder).toEqual({ claimName: 'drive-home-user', subPath: 'Jobs/Acme batch/54112' });
    // A drive that cannot name a claim is refused, not mapped to some other claim.
    const e = refusal(core2Job(), unitConfig({ jobs: { jobFolder: { perDriveClaim: 'drive-{drive}', volumePath: { project: '{user}/{jobId}' } } } }));
    expect([e.status, e.errorCode]).toEqual([400, 'INVALID_PATH']);
  });

  it("uses jobs.sharedStorage's per-drive claims when the job folder names no claim", () => {
    const shared = unitConfig({ jobs: { sharedStorage: { perDriveClaim: 'd-{drive}' }, jobFolder: { volumePath: { home: '{user}/Jobs/{jobId}' } } } });
    expect(jobToSpec(fixtureJob('create-simple-batch.json'), shared).jobFolder).toEqual({ claimName: 'd-user', subPath: 'Jobs/54112' });
  });

  it('refuses, with 400 and the field, a user or title that cannot name a folder', () => {
    const j = fixtureJob('create-simple-batch.json');
    j.owner.createdBy = '../root';
    expect(refusal(j)).toMatchObject({ status: 400, errorCode: 'INVALID_JOB_FOLDER', field: 'owner' });
    const t = fixtureJob('create-simple-batch.json');
    t.status!.resolvedApplication!.metadata.title = '..';
    expect(refusal(t)).toMatchObject({ status: 400, errorCode: 'INVALID_JOB_FOLDER', field: 'status.resolvedApplication.metadata.title' });
  });

  it('refuses parameters too large for the ConfigMap', () => {
    const j = core2Job();
    j.status!.jobParametersJson = { siteVersion: 3, request: { name: 'x'.repeat(200 * 1024) } };
    expect(refusal(j)).toMatchObject({ status: 400, errorCode: 'JOB_PARAMETERS_TOO_LARGE' });
  });

  it('leaves the spec as before without jobs.jobFolder', () => {
    const spec = jobToSpec(core2Job(), unitConfig());
    expect(spec).not.toHaveProperty('jobFolder');
    expect(spec).not.toHaveProperty('jobParameters');
  });
});

describe('job folder templates under hostile values', () => {
  // Segments built from the pieces traversal and injection are made of.
  const piece = fc.constantFrom('..', '.', '/', '\\', '%2f', '%2e', '\u0000', '\n', ' ', 'a', 'ü', '#', "'", '$(x)', '{jobId}');
  const value = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));

  it("either refuse, or stay inside the user's own Jobs folder with exactly the template's segments", () => {
    fc.assert(
      fc.property(value, fc.option(value, { nil: undefined }), value, (user, project, title) => {
        let paths;
        try {
          paths = jobFolderPaths(IM2_LAYOUT, { user, appTitle: titleSegment(title), jobId: '7', ...(project !== undefined ? { project } : {}) });
        } catch (e) {
          if (e instanceof PathError) return;
          throw e;
        }
        const segments = paths.volumePath.split('/');
        const expected = project !== undefined ? ['projects', project, "Members' Files", user, 'Jobs'] : ['home', user, 'Jobs'];
        expect(segments.slice(0, -2)).toEqual(expected);
        expect(segments).toHaveLength(expected.length + 2);
        expect(segments.at(-1)).toBe('7');
        for (const s of segments) expect(['', '.', '..']).not.toContain(s);
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });
});

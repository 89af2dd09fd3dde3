// IM2's binding rules for jinja templates beyond what the parity fixtures show
// (provider-integration/im2/pkg/controller/job_parameters.go, JobFindParamAndValues).
import { jinjaInvocation, jinjaTemplateOf } from '../../../src/translate/jinja-values.js';
import type { AppParameterValue, Job } from '../../../src/ucloud/job.js';
import { jinjaJob } from '../../support/jinja-fixtures.js';

const files = (p: string) => `/mnt${p}`;
const withValues = (values: Record<string, AppParameterValue>): Job => {
  const job = jinjaJob('v2-flags');
  job.specification.parameters = values;
  return job;
};
const appOf = (job: Job) => job.status!.resolvedApplication!.invocation;

describe('jinja values', () => {
  it('drops a value of the wrong type, keeping the default', () => {
    const job = withValues({ label: { type: 'integer', value: 3 }, defaultNum: { type: 'text', value: 'x' } });
    const { values } = jinjaInvocation(job, appOf(job), files)!;
    expect(values.label).toBe("it's default");
    expect(values.defaultNum).toBe(7);
  });

  it('takes a bare or wrapped default, and ignores one of the wrong type', () => {
    const job = withValues({});
    const app = appOf(job);
    app.parameters = [
      { type: 'integer', name: 'bare', defaultValue: 5 },
      { type: 'boolean', name: 'wrapped', defaultValue: { type: 'boolean', value: true } },
      { type: 'integer', name: 'wrong', defaultValue: 'five' },
      { type: 'input_file', name: 'file', defaultValue: { type: 'file', path: '/etc' } },
    ];
    const { values } = jinjaInvocation(job, app, files)!;
    expect(values).toMatchObject({ bare: 5, wrapped: true });
    expect(values).not.toHaveProperty('wrong');
    // Defaults are plain data only: a default file was never authorised for this user.
    expect(values).not.toHaveProperty('file');
  });

  it('appends workflow job templates in parameter-name order', () => {
    const job = withValues({
      b: { type: 'workflow', specification: { job: 'echo b', inputs: [] } },
      a: { type: 'workflow', specification: { job: 'echo a', inputs: [] } },
    });
    const app = appOf(job);
    app.parameters = [
      { type: 'workflow', name: 'a' },
      { type: 'workflow', name: 'b' },
    ];
    app.invocation = [{ type: 'jinja', template: 'main' }];
    expect(jinjaInvocation(job, app, files)!.template).toBe('main\necho a\necho b');
  });

  it('a jinja part among others is not a jinja application', () => {
    const job = withValues({});
    const app = appOf(job);
    app.invocation = [
      { type: 'word', word: 'run' },
      { type: 'jinja', template: 'x' },
    ];
    expect(jinjaTemplateOf(app)).toBeUndefined();
    expect(jinjaInvocation(job, app, files)).toBeUndefined();
  });
});

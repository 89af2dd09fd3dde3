// The job cache keeps what the controllers read on every pass (src/controller/job-trim.ts): not
// managedFields, and not the file contents only the job's ConfigMap carries. The reconciler reads
// the stored job on the pass that writes that ConfigMap, and on no other (in-memory apiserver; the
// reconciler's job cache is the fake's object trimmed as the informer trims it).
import { configMapName } from '../../../src/api/v1alpha1/names.js';
import { UCloudJobSchema, type UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { JOB_PARAMETERS_KEY } from '../../../src/controller/desired/job-folder.js';
import { specElided, trimJob } from '../../../src/controller/job-trim.js';
import { SCRIPT_PATH, TEMPLATE_KEY, VALUES_KEY } from '../../../src/render-invocation/layout.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { NS, job } from '../../support/job-factory.js';
import { reconcilerOver } from '../../support/reconciler.js';

const config = unitConfig({ jobs: { jobFolder: { claimName: 'ucloud-home' }, invocationRenderer: { image: 'ucloud-operator:test' } } });
const TEMPLATE = 'echo {{ ucloud.rank }} '.repeat(200);
const VALUES = JSON.stringify({ ucloud: { rank: 0 }, text: 'x'.repeat(4000) });
const PARAMS = JSON.stringify({ siteVersion: 3, request: { name: 'run' }, big: 'y'.repeat(8000) });
const jinja = (): UCloudJob =>
  job(
    {
      jobId: '77',
      command: [SCRIPT_PATH],
      invocationTemplate: { template: TEMPLATE, values: VALUES },
      jobFolder: { claimName: 'ucloud-home', subPath: 'home/user/Jobs/77' },
      jobParameters: PARAMS,
    },
    'uid-77',
  );
const storedReads = (kube: FakeKube) => kube.calls.filter((c) => c.kind === 'UCloudJob' && c.op === 'get');

function cachedReconciler(kube: FakeKube) {
  return reconcilerOver(kube, {
    config,
    getJob: (ns, name) => {
      const stored = kube.peek<UCloudJob>('UCloudJob', ns, name);
      return stored && trimJob(stored);
    },
  });
}

describe('the job cache', () => {
  it('drops managedFields and keeps every field the controllers read', () => {
    const stored = { ...job(), metadata: { ...job().metadata, managedFields: [{ manager: 'x' }] } };
    const cached = trimJob(stored);
    expect(cached.metadata).not.toHaveProperty('managedFields');
    expect({ ...cached, metadata: { ...cached.metadata, managedFields: [{ manager: 'x' }] } }).toEqual(stored);
    expect(specElided(cached)).toBe(false);
  });

  it('keeps that a jinja job has a template and parameters, not their contents, and still matches the schema', () => {
    const cached = trimJob(jinja());
    expect(cached.spec.invocationTemplate).toEqual({ template: '', values: '' });
    expect(cached.spec.jobParameters).toBe('');
    expect(UCloudJobSchema.safeParse(cached).success).toBe(true);
    expect(specElided(cached)).toBe(true);
    expect(JSON.stringify(cached).length).toBeLessThan(JSON.stringify(jinja()).length - TEMPLATE.length - VALUES.length - PARAMS.length + 100);
  });

  it('the ConfigMap written from an elided cached job carries the stored template, values and JobParameters.json', async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', jinja());
    await cachedReconciler(kube).reconcile(NS, 'j-77');
    const cm = kube.peek<{ data: Record<string, string> }>('ConfigMap', NS, configMapName('j-77'))!;
    expect([cm.data[TEMPLATE_KEY], cm.data[VALUES_KEY], cm.data[JOB_PARAMETERS_KEY]]).toEqual([TEMPLATE, VALUES, PARAMS]);
    expect(storedReads(kube)).toHaveLength(1);
  });

  it('a pass that writes no ConfigMap reads no stored job', async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', jinja());
    const reconciler = cachedReconciler(kube);
    await reconciler.reconcile(NS, 'j-77');
    kube.calls.length = 0;
    await reconciler.reconcile(NS, 'j-77');
    await reconciler.reconcile(NS, 'j-77');
    expect(storedReads(kube)).toEqual([]);
  });

  it('a spec changed since the job was cached: the ConfigMap waits for the new version instead of mixing the two', async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', jinja());
    const before = kube.peek<UCloudJob>('UCloudJob', NS, 'j-77')!;
    // Without a resourceVersion its status write is unconditional: the pass gets as far as the ConfigMap.
    const cachedCopy = trimJob({ ...before, metadata: { ...before.metadata, resourceVersion: undefined } });
    await kube.ucloudJobs.replace({ ...kube.peek<UCloudJob>('UCloudJob', NS, 'j-77')!, spec: { ...jinja().spec, jobParameters: '{"new":1}' } });
    const reconciler = reconcilerOver(kube, { config, getJob: () => cachedCopy });
    await expect(reconciler.reconcile(NS, 'j-77')).rejects.toThrow(/changed since it was cached/);
    expect(kube.peek('ConfigMap', NS, configMapName('j-77'))).toBeUndefined();
  });
});

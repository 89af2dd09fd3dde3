// What IM2 hands every job that the translation and the pod builder now carry too:
// UCLOUD_* variables (containers/invocation.go), the ucloud.dk/init-script label. Through
// jobToSpec and buildPod together, as a job from UCloud/Core meets them.
import { UCloudJobSchema } from '../../../src/api/v1alpha1/ucloudjob.js';
import { buildPod, withInitScript } from '../../../src/controller/desired/pod-builder.js';
import { jobToResource } from '../../../src/translate/job-to-spec.js';
import type { Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { fixtureJob, translationError } from '../../support/fixtures.js';

const withStorage = unitConfig({ jobs: { sharedStorage: { claimName: 'ucloud-storage' } } });
const webSite = unitConfig({
  interactive: {
    web: { enabled: true, domainPattern: 'app-{jobId}-{rank}.apps.example.org', auth: { verifyUrl: 'http://op.svc:8080/ucloud/example/web-auth' } },
  },
});

function job(change: (j: Job) => void, name = 'create-simple-batch.json'): Job {
  const j = structuredClone(fixtureJob(name));
  change(j);
  return j;
}

/** The rank's environment as a map, through the CR (stored and read back) as the reconciler sees it. */
function envOf(j: Job, config = unitConfig(), rank = 0): Record<string, string> {
  const cr = UCloudJobSchema.parse({ ...jobToResource(j, config), metadata: { ...jobToResource(j, config).metadata, uid: 'u' } });
  return Object.fromEntries((buildPod(cr, rank, config).spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value!]));
}

const refusal = (j: Job, config = unitConfig()) => translationError(j, config);

describe('UCLOUD_* environment as IM2 sets it', () => {
  it('gives every rank its job id, rank and task count under every name IM2 uses', () => {
    const env = envOf(fixtureJob('multi-rank-job.json'), withStorage, 2);
    expect(env).toMatchObject({
      UCLOUD_JOB_ID: '61207',
      UCLOUD_RANK: '2',
      VC_TASK_INDEX: '2',
      VK_TASK_INDEX: '2',
      UCLOUD_TASK_COUNT: '3',
      VC_JOB_NUM: '3',
      UCLOUD_URL_IS_PUBLIC: 'false',
      UCLOUD_METRICS_SAMPLE_INTERVAL: '0ms',
    });
    expect(env.UCLOUD_OPEN_WITH_FILE).toBeUndefined();
    expect(env.UCLOUD_BASE_URL).toBeUndefined();
  });

  it("passes core2's ucMetricSampleRate on as UCLOUD_METRICS_SAMPLE_INTERVAL", () => {
    const j = job((x) => void (x.specification.parameters!.ucMetricSampleRate = { type: 'text', value: '250ms' }));
    expect(envOf(j).UCLOUD_METRICS_SAMPLE_INTERVAL).toBe('250ms');
    const bad = job((x) => void (x.specification.parameters!.ucMetricSampleRate = { type: 'text', value: '250ms\u0000' }));
    expect(refusal(bad)).toMatchObject({ field: 'specification.parameters.ucMetricSampleRate', errorCode: 'INVALID_PARAMETER' });
  });

  // IM2's ucloudToPod: the file's own mount, its folder's mount, else /dev/null.
  it.each([
    ['a mounted file', '/p-4242/Datasets/wing/mesh.h5', '/work/mesh.h5'],
    ['a file in a mounted folder', '/p-4242/Results/run-1/out.csv', '/dev/null'],
    ['a file directly in a mounted folder', '/p-4242/Results/out.csv', '/work/Results/out.csv'],
    ['a file nothing mounts', '/p-9/elsewhere.txt', '/dev/null'],
  ])('sets UCLOUD_OPEN_WITH_FILE for %s', (_what, opened, expected) => {
    const j = job((x) => void (x.specification.openedFile = opened), 'multi-rank-job.json');
    expect(envOf(j, withStorage).UCLOUD_OPEN_WITH_FILE).toBe(expected);
  });

  it('refuses an opened file that is not an honest UCloud path', () => {
    const j = job((x) => void (x.specification.openedFile = '/p-4242/../etc/passwd'), 'multi-rank-job.json');
    expect(refusal(j, withStorage)).toMatchObject({ field: 'specification.openedFile', errorCode: 'INVALID_PATH' });
  });

  it('keeps user text verbatim in the variables ($(VAR) is not expanded by the kubelet)', () => {
    const j = job((x) => void (x.specification.parameters!.ucMetricSampleRate = { type: 'text', value: '$(HOME)' }));
    expect(envOf(j).UCLOUD_METRICS_SAMPLE_INTERVAL).toBe('$$(HOME)');
  });

  it("gives a web application's ranks their address as UCLOUD_BASE_URL and BASE_URL when the site publishes web interfaces", () => {
    const web = job((x) => {
      x.status!.resolvedApplication!.invocation.web = { port: 8080 };
      x.status!.resolvedApplication!.invocation.allowMultiNode = true;
      x.specification.replicas = 2;
    });
    expect(envOf(web, webSite, 1)).toMatchObject({ UCLOUD_BASE_URL: 'https://app-54112-1.apps.example.org', BASE_URL: 'https://app-54112-1.apps.example.org' });
    // Not for a batch job, nor where web interfaces are not published.
    expect(envOf(fixtureJob('create-simple-batch.json'), webSite).UCLOUD_BASE_URL).toBeUndefined();
    expect(envOf(web).UCLOUD_BASE_URL).toBeUndefined();
  });
});

describe('the ucloud.dk/init-script label', () => {
  const labelled = (script: string) => job((x) => void (x.specification.labels = { 'ucloud.dk/init-script': script, other: 'x' }));

  it('runs the script with bash before the program, which then replaces the shell', () => {
    const cr = UCloudJobSchema.parse({
      ...jobToResource(labelled('/work/.init-1.sh'), unitConfig()),
      metadata: { name: 'j-54112', namespace: 'ns', uid: 'u' },
    });
    expect(cr.spec.initScript).toBe('/work/.init-1.sh');
    // $0 and $@ reach the shell as written ($$ is the kubelet's escape for $).
    const command = buildPod(cr, 0, unitConfig()).spec!.containers[0]!.command!;
    expect(command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(command[2]).toContain('bash "$$0" || {');
    expect(command[2]!.split('\n').at(-1)).toBe('exec "$$@"');
    expect(command.slice(3)).toEqual(['/work/.init-1.sh', 'acme-batch', '--debug', 'Hello, World!']);
  });

  it('keeps the script path and the argv as arguments, never as shell text', () => {
    const hostile = "/x'; rm -rf / #";
    const command = withInitScript(['echo', '$(id)', 'a b'], hostile);
    expect(command.slice(3)).toEqual([hostile, 'echo', '$(id)', 'a b']);
    expect(command[2]).not.toContain(hostile);
  });

  it('changes nothing without the label, or with an empty one', () => {
    expect(jobToResource(fixtureJob('create-simple-batch.json'), unitConfig()).spec.initScript).toBeUndefined();
    expect(jobToResource(labelled(''), unitConfig()).spec.initScript).toBeUndefined();
    expect(withInitScript(['a'], undefined)).toEqual(['a']);
  });

  it('refuses a script path with control characters (execve cannot pass NUL)', () => {
    expect(refusal(labelled('/work/init\u0000.sh'))).toMatchObject({ field: 'specification.labels.ucloud.dk/init-script', errorCode: 'INVALID_LABEL' });
  });
});

describe('software modules from the site (jobs.modules)', () => {
  const site = unitConfig({
    jobs: {
      modules: [
        { name: 'ubuntu-24.04', claimName: 'easybuild', subPath: 'stacks/ubuntu-24.04' },
        { name: 'cuda-12', claimName: 'easybuild', subPath: 'stacks/cuda-12' },
        { name: 'matlab', claimName: 'licensed-software' },
      ],
    },
  });
  const withModules = (mountPath: string, optional: string[]) => job((x) => void (x.status!.resolvedApplication!.invocation.modules = { mountPath, optional }));

  function podOf(j: Job, config: ReturnType<typeof unitConfig>) {
    const resource = jobToResource(j, config);
    return buildPod(UCloudJobSchema.parse({ ...resource, metadata: { ...resource.metadata, uid: 'u' } }), 0, config);
  }

  // IM2 containers/modules.go: every listed module the site has, read-only at <mountPath>/<name>.
  it('mounts each listed module the site provides read-only below the application folder, one volume per claim', () => {
    const pod = podOf(withModules('/opt/easybuild', ['ubuntu-24.04', 'matlab', 'not-here', 'cuda-12']), site);
    const c = pod.spec!.containers[0]!;
    expect(c.volumeMounts!.filter((m) => m.name.startsWith('module-'))).toEqual([
      { name: 'module-0', mountPath: '/opt/easybuild/ubuntu-24.04', readOnly: true, subPath: 'stacks/ubuntu-24.04' },
      { name: 'module-1', mountPath: '/opt/easybuild/matlab', readOnly: true },
      { name: 'module-0', mountPath: '/opt/easybuild/cuda-12', readOnly: true, subPath: 'stacks/cuda-12' },
    ]);
    expect(pod.spec!.volumes!.filter((v) => v.name.startsWith('module-'))).toEqual([
      { name: 'module-0', persistentVolumeClaim: { claimName: 'easybuild', readOnly: true } },
      { name: 'module-1', persistentVolumeClaim: { claimName: 'licensed-software', readOnly: true } },
    ]);
    expect(c.env).toContainEqual({ name: 'UCLOUD_MODULES_ROOT', value: '/opt/easybuild' });
  });

  it('sets UCLOUD_MODULES_ROOT even when the site has none of them, and nothing for an application without modules', () => {
    const pod = podOf(withModules('/opt/easybuild', ['not-here']), site);
    expect(pod.spec!.containers[0]!.env).toContainEqual({ name: 'UCLOUD_MODULES_ROOT', value: '/opt/easybuild' });
    expect(pod.spec!.volumes!.some((v) => v.name.startsWith('module-'))).toBe(false);
    const plain = podOf(fixtureJob('create-simple-batch.json'), site);
    expect(plain.spec!.containers[0]!.env!.some((e) => e.name === 'UCLOUD_MODULES_ROOT')).toBe(false);
  });

  it.each([['/work/modules'], ['/etc/ucloud/m'], ['/opt/../etc'], ['relative'], ['']])(
    'refuses the modules folder %j (the rules of an explicit mount path)',
    (mountPath) => {
      expect(refusal(withModules(mountPath, ['matlab']), site)).toMatchObject({
        field: 'status.resolvedApplication.invocation.modules.mountPath',
        errorCode: 'INVALID_MOUNT_PATH',
      });
    },
  );

  it('accepts a module list parameter only on a site with modules', () => {
    const listed = job((x) => void (x.specification.parameters!.mods = { type: 'modules', modules: ['matlab'] }));
    expect(refusal(listed)).toMatchObject({ errorCode: 'UNSUPPORTED_RESOURCE' });
    expect(() => jobToResource(listed, site)).not.toThrow();
  });

  it.each([['../x'], ['/abs'], ['a//b'], ['a/./b']])('refuses the module subPath %j in the configuration', (subPath) => {
    expect(() => unitConfig({ jobs: { modules: [{ name: 'm', claimName: 'c', subPath }] } })).toThrow(/subPath/);
  });
});

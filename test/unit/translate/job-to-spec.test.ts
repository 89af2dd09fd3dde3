import { jobToResource, jobToSpec, TranslationError } from '../../../src/translate/job-to-spec.js';
import type { Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { fixtureJob } from '../../support/fixtures.js';

const config = unitConfig();
const withStorage = unitConfig({ jobs: { sharedStorage: { claimName: 'ucloud-storage' } } });

function mutate(name: string, f: (j: Job) => void): Job {
  const j = structuredClone(fixtureJob(name));
  f(j);
  return j;
}

function expectError(job: Job, errorCode: string, field: string, cfg = config): TranslationError {
  try {
    jobToSpec(job, cfg);
  } catch (e) {
    expect(e).toBeInstanceOf(TranslationError);
    expect({ errorCode: (e as TranslationError).errorCode, field: (e as TranslationError).field }).toEqual({ errorCode, field });
    return e as TranslationError;
  }
  throw new Error(`expected ${errorCode}`);
}

describe('jobToSpec', () => {
  it('translates the spec example exactly', () => {
    expect(jobToSpec(fixtureJob('create-simple-batch.json'), config)).toEqual({
      jobId: '54112',
      owner: { createdBy: 'user' },
      application: { name: 'acme-batch', version: '1.0.0' },
      product: { id: 'example-compute-1', category: 'example-compute', provider: 'example', cpu: 1, memoryInGigs: 2, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
      replicas: 1,
      image: 'acme/batch:1.0.0',
      command: ['acme-batch', '--debug', 'Hello, World!'],
      env: [],
      runAsRoot: false,
      timeAllocationMillis: 3_600_000,
      mounts: [],
      peers: [],
      sshEnabled: false,
      restartOnExit: false,
      ucloudCreatedAt: 1633329776235,
    });
  });

  it('translates the 3-rank fixture: argv, environment with defaults, resources', () => {
    const spec = jobToSpec(fixtureJob('multi-rank-job.json'), config);
    expect(spec.replicas).toBe(3);
    expect(spec.command).toEqual(['mpirun', '--hostfile', '/etc/ucloud/nodes.txt', 'acme-solve', '--iterations', '1000', '--tol=0.0005', '--solver', 'cg']);
    expect(spec.env).toEqual([
      { name: 'OMP_NUM_THREADS', value: '8' },
      { name: 'ACME_LABEL', value: 'run-1' },
    ]);
    expect(spec.product).toMatchObject({ id: 'example-compute-8', cpu: 8, memoryInGigs: 16 });
    expect(spec.timeAllocationMillis).toBe(30 * 60_000);
  });

  it('builds the UCloudJob resource with a deterministic name and labels', () => {
    const r = jobToResource(fixtureJob('create-simple-batch.json'), config);
    expect(r.metadata).toEqual({
      name: 'j-54112',
      namespace: 'ucloud-jobs',
      labels: { 'ucloud.dk/job-id': '54112', 'app.kubernetes.io/managed-by': 'ucloud-operator' },
      annotations: { 'ucloud.dk/job-id': '54112' },
    });
    expect(r.apiVersion).toBe('ucloud.dk/v1alpha1');
  });

  it('mounts file parameters and resources from the shared storage', () => {
    const job = mutate('create-simple-batch.json', (j) => {
      j.specification.resources = [
        { type: 'file', path: '/home/user/data', readOnly: true },
        { type: 'file', path: '/projects/p/data', readOnly: false },
      ];
    });
    expect(jobToSpec(job, withStorage).mounts).toEqual([
      { name: 'file-0', ucloudPath: '/home/user/data', subPath: 'home/user/data', mountPath: '/work/data', readOnly: true },
      { name: 'file-1', ucloudPath: '/projects/p/data', subPath: 'projects/p/data', mountPath: '/work/data-1', readOnly: false },
    ]);
  });

  it('records peers from parameters and resources', () => {
    const job = mutate('create-simple-batch.json', (j) => {
      j.specification.resources = [{ type: 'peer', hostname: 'database', jobId: '777' }];
    });
    expect(jobToSpec(job, config).peers).toEqual([{ hostname: 'database', jobId: '777' }]);
  });

  const errors: Array<[string, (j: Job) => void, string, string, ReturnType<typeof unitConfig>]> = [
    ['missing application', (j) => (j.status!.resolvedApplication = null), 'MISSING_APPLICATION', 'status.resolvedApplication', config],
    ['missing product', (j) => (j.status!.resolvedProduct = null), 'MISSING_PRODUCT', 'status.resolvedProduct', config],
    ['unknown product', (j) => (j.specification.product.id = 'nope'), 'UNKNOWN_PRODUCT', 'specification.product', config],
    [
      'virtual machine backend',
      (j) => (j.status!.resolvedApplication!.invocation.tool.tool!.description.backend = 'VIRTUAL_MACHINE'),
      'UNSUPPORTED_BACKEND',
      'status.resolvedApplication.invocation.tool',
      config,
    ],
    ['multi-node not allowed', (j) => (j.specification.replicas = 2), 'MULTI_NODE_NOT_ALLOWED', 'specification.replicas', config],
    ['path escape', (j) => (j.specification.resources = [{ type: 'file', path: '/home/../../etc' }]), 'INVALID_PATH', 'specification.resources[0]', withStorage],
    ['encoded path escape', (j) => (j.specification.resources = [{ type: 'file', path: '/a/%2e%2e/b' }]), 'INVALID_PATH', 'specification.resources[0]', withStorage],
    ['files without shared storage', (j) => (j.specification.resources = [{ type: 'file', path: '/a/b' }]), 'NO_SHARED_STORAGE', 'specification', config],
    ['bad peer hostname', (j) => (j.specification.resources = [{ type: 'peer', hostname: 'Bad_Host', jobId: '1' }]), 'INVALID_PEER_HOSTNAME', 'specification.resources[0]', config],
    ['peer with itself', (j) => (j.specification.resources = [{ type: 'peer', hostname: 'me', jobId: '54112' }]), 'INVALID_PEER', 'specification.resources[0]', config],
    ['license resource', (j) => (j.specification.resources = [{ type: 'license_server', id: 'l' }]), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]', config],
    ['missing required parameter', (j) => delete j.specification.parameters!.value, 'INVALID_PARAMETER', 'specification.parameters.value', config],
    ['wrong parameter type', (j) => (j.specification.parameters!.value = { type: 'integer', value: 3 }), 'INVALID_PARAMETER', 'specification.parameters.value', config],
    [
      'run as root',
      (j) => (j.status!.resolvedApplication!.invocation.container = { runAsRoot: true }),
      'RUN_AS_ROOT_NOT_ALLOWED',
      'status.resolvedApplication.invocation.container.runAsRoot',
      config,
    ],
  ];
  it.each(errors)('rejects %s', (_name, f, code, field, cfg) => {
    expectError(mutate('create-simple-batch.json', f), code, field, cfg);
  });
});

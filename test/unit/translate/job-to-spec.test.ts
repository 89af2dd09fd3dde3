import { z } from 'zod';
import { UCloudJobSchema, type UCloudJobSpec } from '../../../src/api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../../src/config.js';
import { jobToResource, jobToSpec } from '../../../src/translate/job-to-spec.js';
import { JobSchema, type AppParameterValue, type Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { fixtureJob, fixtureJson, MULTI_RANK as MULTI, SIMPLE_BATCH as SIMPLE, translationError } from '../../support/fixtures.js';

const config = unitConfig();
const withStorage = unitConfig({ jobs: { sharedStorage: { claimName: 'ucloud-storage' } } });
const rootAllowed = unitConfig({ jobs: { allowRunAsRoot: true } });

function mutate(name: string, f: (j: Job) => void): Job {
  const j = structuredClone(fixtureJob(name));
  f(j);
  return j;
}
const invocationOf = (j: Job) => j.status!.resolvedApplication!.invocation;
const withResources =
  (...resources: AppParameterValue[]) =>
  (j: Job) =>
    void (j.specification.resources = resources);
const withParameter = (name: string, value: AppParameterValue) => (j: Job) => void (j.specification.parameters![name] = value);

describe('fixtures', () => {
  it.each([SIMPLE, MULTI])('%s parses as a bulk request of Jobs', (name) => {
    const bulk = z.object({ items: z.array(JobSchema) }).safeParse(fixtureJson(name));
    expect(bulk.error).toBeUndefined();
    expect(bulk.data!.items).toHaveLength(1);
  });
});

describe('jobToSpec', () => {
  it('translates the spec example exactly', () => {
    expect(jobToSpec(fixtureJob(SIMPLE), config)).toEqual({
      jobId: '54112',
      owner: { createdBy: 'user' },
      application: { name: 'acme-batch', version: '1.0.0' },
      product: {
        id: 'example-compute-1',
        category: 'example-compute',
        provider: 'example',
        cpu: 1,
        memoryInGigs: 2,
        gpu: 0,
        unitOfPrice: 'CREDITS_PER_MINUTE',
      },
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
    } satisfies UCloudJobSpec);
  });

  it('translates the 3-rank fixture exactly', () => {
    expect(jobToSpec(fixtureJob(MULTI), withStorage)).toEqual({
      jobId: '61207',
      owner: { createdBy: 'alice#4821', project: 'p-4242' },
      application: { name: 'acme-mpi', version: '2.1.0' },
      product: {
        id: 'example-compute-8',
        category: 'example-compute',
        provider: 'example',
        cpu: 8,
        memoryInGigs: 16,
        gpu: 0,
        unitOfPrice: 'CREDITS_PER_MINUTE',
      },
      replicas: 3,
      image: 'acme/mpi:2.1.0',
      command: [
        'mpirun',
        '--hostfile',
        '/etc/ucloud/nodes.txt',
        'acme-solve',
        '--iterations',
        '1000',
        '--tol=0.0005',
        '--solver',
        'cg',
        '--mesh',
        '/work/mesh.h5',
      ],
      env: [
        { name: 'OMP_NUM_THREADS', value: '8' },
        { name: 'ACME_LABEL', value: 'run-1' },
        { name: 'ACME_MESH', value: '/work/mesh.h5' },
        { name: 'ACME_HOME', value: '$(HOME)' },
        { name: 'ACME_MODE', value: 'mpi' },
      ],
      workingDir: '/work',
      runAsRoot: false,
      timeAllocationMillis: 1_800_000,
      mounts: [
        { name: 'file-0', ucloudPath: '/p-4242/Datasets/wing/mesh.h5', subPath: 'p-4242/Datasets/wing/mesh.h5', mountPath: '/work/mesh.h5', readOnly: true },
        { name: 'file-1', ucloudPath: '/p-4242/Results', subPath: 'p-4242/Results', mountPath: '/work/Results', readOnly: false },
      ],
      peers: [],
      sshEnabled: false,
      restartOnExit: false,
      ucloudCreatedAt: 1633412345678,
    } satisfies UCloudJobSpec);
  });

  it('builds the UCloudJob resource with a deterministic name, labels and annotation', () => {
    const r = jobToResource(fixtureJob(SIMPLE), config);
    expect(UCloudJobSchema.parse(r)).toEqual(r);
    expect(r).toEqual({
      apiVersion: 'ucloud.dk/v1alpha1',
      kind: 'UCloudJob',
      metadata: {
        name: 'j-54112',
        namespace: 'ucloud-jobs',
        labels: { 'ucloud.dk/job-id': '54112', 'app.kubernetes.io/managed-by': 'ucloud-operator' },
        annotations: { 'ucloud.dk/job-id': '54112' },
      },
      spec: jobToSpec(fixtureJob(SIMPLE), config),
    });
  });

  it('names a job with an id that is not DNS-safe by hash, and keeps the id in the annotation', () => {
    const id = 'Job_With/Odd:Chars';
    const r = jobToResource(
      mutate(SIMPLE, (j) => (j.id = id)),
      config,
    );
    expect(r.metadata.name).toMatch(/^j-[0-9a-f]{16}$/);
    expect(r.metadata.labels!['ucloud.dk/job-id']).toMatch(/^[0-9a-f]{16}$/);
    expect(r.metadata.annotations).toEqual({ 'ucloud.dk/job-id': id });
    expect(r.spec.jobId).toBe(id);
  });

  describe('product', () => {
    it('takes cpu, memory, gpu and price unit from the resolved product', () => {
      const job = mutate(SIMPLE, (j) => Object.assign(j.status!.resolvedProduct!, { cpu: 3, memoryInGigs: 5, gpu: 1, unitOfPrice: 'CREDITS_PER_HOUR' }));
      expect(jobToSpec(job, config).product).toMatchObject({ cpu: 3, memoryInGigs: 5, gpu: 1, unitOfPrice: 'CREDITS_PER_HOUR' });
    });

    it('falls back to the configured product for what the resolved one leaves out', () => {
      const job = mutate(SIMPLE, (j) => {
        j.specification.product = { id: 'u1-gpu-1', category: 'u1-gpu', provider: 'example' };
        j.status!.resolvedProduct = { name: 'u1-gpu-1', category: { name: 'u1-gpu', provider: 'example' } };
      });
      expect(jobToSpec(job, config).product).toEqual({
        id: 'u1-gpu-1',
        category: 'u1-gpu',
        provider: 'example',
        cpu: 8,
        memoryInGigs: 32,
        gpu: 1,
        unitOfPrice: 'CREDITS_PER_HOUR',
      });
    });
  });

  describe('image and application options', () => {
    it('falls back to the tool container when it has no image', () => {
      const job = mutate(SIMPLE, (j) => Object.assign(invocationOf(j).tool.tool!.description, { image: null, container: 'acme/legacy:1' }));
      expect(jobToSpec(job, config).image).toBe('acme/legacy:1');
    });

    it.each([
      ['no container section', null, undefined],
      ['changeWorkingDirectory true', { changeWorkingDirectory: true }, '/work'],
      ['changeWorkingDirectory unset (UCloud defaults it to true)', { runAsRoot: false }, '/work'],
      ['changeWorkingDirectory false', { changeWorkingDirectory: false }, undefined],
    ])('working directory with %s', (_name, container, workingDir) => {
      const spec = jobToSpec(
        mutate(SIMPLE, (j) => (invocationOf(j).container = container)),
        config,
      );
      expect(spec.workingDir).toBe(workingDir);
    });

    it('runs as root only when the application asks and the operator allows', () => {
      const job = mutate(SIMPLE, (j) => (invocationOf(j).container = { runAsRoot: true }));
      expect(jobToSpec(job, rootAllowed).runAsRoot).toBe(true);
    });

    it('takes the web and VNC ports from the application, with UCloud defaults', () => {
      const spec = jobToSpec(
        mutate(SIMPLE, (j) => Object.assign(invocationOf(j), { web: { port: 8888 }, vnc: { password: 'x', port: null } })),
        config,
      );
      expect({ webPort: spec.webPort, vncPort: spec.vncPort }).toEqual({ webPort: 8888, vncPort: 5900 });
      expect(
        jobToSpec(
          mutate(SIMPLE, (j) => (invocationOf(j).web = {})),
          config,
        ).webPort,
      ).toBe(80);
    });

    it('records sshEnabled, restartOnExit and a missing time allocation', () => {
      const spec = jobToSpec(
        mutate(SIMPLE, (j) => Object.assign(j.specification, { sshEnabled: true, restartOnExit: true, timeAllocation: null })),
        config,
      );
      expect(spec).toMatchObject({ sshEnabled: true, restartOnExit: true });
      expect(spec).not.toHaveProperty('timeAllocationMillis');
    });

    it('leaves out what UCloud did not send', () => {
      const spec = jobToSpec(
        mutate(SIMPLE, (j) => (j.createdAt = null)),
        config,
      );
      expect(spec).not.toHaveProperty('ucloudCreatedAt');
      expect(spec).not.toHaveProperty('webPort');
      expect(spec.owner).toEqual({ createdBy: 'user' });
    });
  });

  describe('files and peers', () => {
    it('mounts file parameters and resources, de-duplicating basenames and repeated folders', () => {
      const job = mutate(SIMPLE, (j) => {
        j.specification.resources = [
          { type: 'file', path: '/projects/p/data', readOnly: false },
          { type: 'file', path: '/home/user/data', readOnly: true },
          { type: 'file', path: '/home/user/data/', readOnly: true },
          { type: 'file', path: '/home/user/notes', readOnly: true },
          { type: 'file', path: '/home/user/notes', readOnly: false },
        ];
      });
      expect(jobToSpec(job, withStorage).mounts).toEqual([
        { name: 'file-0', ucloudPath: '/projects/p/data', subPath: 'projects/p/data', mountPath: '/work/data-1', readOnly: false },
        { name: 'file-1', ucloudPath: '/home/user/data', subPath: 'home/user/data', mountPath: '/work/data-0', readOnly: true },
        { name: 'file-2', ucloudPath: '/home/user/notes', subPath: 'home/user/notes', mountPath: '/work/notes', readOnly: false },
      ]);
    });

    it('passes a file parameter to the command as its mount path', () => {
      const job = mutate(MULTI, (j) => {
        j.specification.parameters!.output = { type: 'file', path: '/p-4242/Runs/data' };
        j.specification.resources = [{ type: 'file', path: '/p-4242/Other/data' }];
      });
      const spec = jobToSpec(job, withStorage);
      expect(spec.command.slice(-2)).toEqual(['--output', '/work/data-1']);
      expect(spec.mounts.find((m) => m.mountPath === '/work/data-1')?.ucloudPath).toBe('/p-4242/Runs/data');
    });

    it('records peers from parameters and resources, once each', () => {
      const job = mutate(SIMPLE, (j) => {
        j.specification.parameters!.db = { type: 'peer', hostname: 'database', jobId: '777' };
        j.specification.resources = [
          { type: 'peer', hostname: 'database', jobId: '777' },
          { type: 'peer', hostname: 'cache-0', jobId: '778' },
        ];
      });
      expect(jobToSpec(job, config).peers).toEqual([
        { hostname: 'database', jobId: '777' },
        { hostname: 'cache-0', jobId: '778' },
      ]);
    });

    it('renders license, ingress and network parameters as their id', () => {
      const job = mutate(SIMPLE, (j) => {
        const inv = invocationOf(j);
        inv.parameters.push({ type: 'license_server', name: 'lic' }, { type: 'network_ip', name: 'ip' });
        inv.invocation.push({ type: 'var', variableNames: ['lic', 'ip'], prefixGlobal: '--lic' });
        j.specification.parameters!.lic = { type: 'license_server', id: 'lic-42' };
        j.specification.parameters!.ip = { type: 'network', id: 'ip-7' };
      });
      expect(jobToSpec(job, config).command).toEqual(['acme-batch', '--debug', 'Hello, World!', '--lic', 'lic-42', 'ip-7']);
    });
  });

  const long = 'x'.repeat(65_536);
  const errors: Array<[string, string, (j: Job) => void, string, string, OperatorConfig?]> = [
    ['missing application', SIMPLE, (j) => (j.status!.resolvedApplication = null), 'MISSING_APPLICATION', 'status.resolvedApplication'],
    ['missing status', SIMPLE, (j) => (j.status = null), 'MISSING_APPLICATION', 'status.resolvedApplication'],
    ['missing product', SIMPLE, (j) => (j.status!.resolvedProduct = null), 'MISSING_PRODUCT', 'status.resolvedProduct'],
    ['unknown product id', SIMPLE, (j) => (j.specification.product.id = 'nope'), 'UNKNOWN_PRODUCT', 'specification.product'],
    ['product in the wrong category', SIMPLE, (j) => (j.specification.product.category = 'u1-gpu'), 'UNKNOWN_PRODUCT', 'specification.product'],
    [
      'a virtual machine tool',
      SIMPLE,
      (j) => (invocationOf(j).tool.tool!.description.backend = 'VIRTUAL_MACHINE'),
      'UNSUPPORTED_BACKEND',
      'status.resolvedApplication.invocation.tool.tool.description.backend',
    ],
    [
      'a native tool',
      SIMPLE,
      (j) => (invocationOf(j).tool.tool!.description.backend = 'NATIVE'),
      'UNSUPPORTED_BACKEND',
      'status.resolvedApplication.invocation.tool.tool.description.backend',
    ],
    [
      'a tool without an image',
      SIMPLE,
      (j) => (invocationOf(j).tool.tool!.description.image = ''),
      'MISSING_IMAGE',
      'status.resolvedApplication.invocation.tool.tool.description.image',
    ],
    [
      'an unresolved tool',
      SIMPLE,
      (j) => (invocationOf(j).tool.tool = null),
      'MISSING_IMAGE',
      'status.resolvedApplication.invocation.tool.tool.description.image',
    ],
    ['multi-node not allowed', SIMPLE, (j) => (j.specification.replicas = 2), 'MULTI_NODE_NOT_ALLOWED', 'specification.replicas'],
    [
      'a resource escaping the storage',
      SIMPLE,
      withResources({ type: 'file', path: '/home/../../etc' }),
      'INVALID_PATH',
      'specification.resources[0]',
      withStorage,
    ],
    [
      'an encoded escape',
      SIMPLE,
      withResources({ type: 'file', path: '/a/b' }, { type: 'file', path: '/a/%2e%2e/b' }),
      'INVALID_PATH',
      'specification.resources[1]',
      withStorage,
    ],
    ['a relative path', SIMPLE, withResources({ type: 'file', path: 'etc/passwd' }), 'INVALID_PATH', 'specification.resources[0]', withStorage],
    ['the storage root', SIMPLE, withResources({ type: 'file', path: '/' }), 'INVALID_PATH', 'specification.resources[0]', withStorage],
    [
      'a parameter escaping the storage',
      MULTI,
      withParameter('mesh', { type: 'file', path: '/p-4242/../p-1/mesh.h5' }),
      'INVALID_PATH',
      'specification.parameters.mesh',
      withStorage,
    ],
    ['files without shared storage', MULTI, () => {}, 'NO_SHARED_STORAGE', 'specification.parameters.mesh'],
    ['a resource without shared storage', SIMPLE, withResources({ type: 'file', path: '/a/b' }), 'NO_SHARED_STORAGE', 'specification.resources[0]'],
    [
      'an upper-case peer hostname',
      SIMPLE,
      withResources({ type: 'peer', hostname: 'Database', jobId: '1' }),
      'INVALID_PEER_HOSTNAME',
      'specification.resources[0]',
    ],
    [
      'a peer hostname with a dot',
      SIMPLE,
      withResources({ type: 'peer', hostname: 'db.example', jobId: '1' }),
      'INVALID_PEER_HOSTNAME',
      'specification.resources[0]',
    ],
    [
      'a peer hostname ending in a dash',
      SIMPLE,
      withResources({ type: 'peer', hostname: 'db-', jobId: '1' }),
      'INVALID_PEER_HOSTNAME',
      'specification.resources[0]',
    ],
    [
      'a peer parameter with a bad hostname',
      SIMPLE,
      withParameter('db', { type: 'peer', hostname: 'my_db', jobId: '1' }),
      'INVALID_PEER_HOSTNAME',
      'specification.parameters.db',
    ],
    [
      'one hostname for two peers',
      SIMPLE,
      withResources({ type: 'peer', hostname: 'db', jobId: '1' }, { type: 'peer', hostname: 'db', jobId: '2' }),
      'INVALID_PEER_HOSTNAME',
      'specification.resources[1]',
    ],
    ['a peer on itself', SIMPLE, withResources({ type: 'peer', hostname: 'me', jobId: '54112' }), 'INVALID_PEER', 'specification.resources[0]'],
    ['a license server resource', SIMPLE, withResources({ type: 'license_server', id: 'l' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['an ingress resource', SIMPLE, withResources({ type: 'ingress', id: 'i' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['a network resource', SIMPLE, withResources({ type: 'network', id: 'n' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['a block storage resource', SIMPLE, withResources({ type: 'block_storage', id: 'b' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['a private network resource', SIMPLE, withResources({ type: 'private_network', id: 'p' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['a workflow resource', SIMPLE, withResources({ type: 'workflow' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['a modules resource', SIMPLE, withResources({ type: 'modules' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    ['an API server resource', SIMPLE, withResources({ type: 'api_server' }), 'UNSUPPORTED_RESOURCE', 'specification.resources[0]'],
    [
      'a block storage parameter value',
      SIMPLE,
      withParameter('disk', { type: 'block_storage', id: 'b' }),
      'UNSUPPORTED_RESOURCE',
      'specification.parameters.disk',
    ],
    [
      'a private network parameter value',
      SIMPLE,
      withParameter('net', { type: 'private_network', id: 'p' }),
      'UNSUPPORTED_RESOURCE',
      'specification.parameters.net',
    ],
    ['a module list to load', SIMPLE, withParameter('mods', { type: 'modules', modules: ['gcc/13'] }), 'UNSUPPORTED_RESOURCE', 'specification.parameters.mods'],
    ['a missing required parameter', SIMPLE, (j) => delete j.specification.parameters!.value, 'MISSING_PARAMETER', 'specification.parameters.value'],
    ['no parameters at all', SIMPLE, (j) => (j.specification.parameters = null), 'MISSING_PARAMETER', 'specification.parameters.debug'],
    ['a parameter of the wrong type', SIMPLE, withParameter('value', { type: 'integer', value: 3 }), 'INVALID_PARAMETER', 'specification.parameters.value'],
    [
      'a file where a number belongs',
      MULTI,
      withParameter('iterations', { type: 'file', path: '/p-4242/x' }),
      'INVALID_PARAMETER',
      'specification.parameters.iterations',
      withStorage,
    ],
    ['an empty invocation', SIMPLE, (j) => (invocationOf(j).invocation = []), 'EMPTY_INVOCATION', 'status.resolvedApplication.invocation.invocation'],
    [
      'an invocation starting with an empty word',
      SIMPLE,
      (j) => invocationOf(j).invocation.unshift({ type: 'word', word: '' }),
      'EMPTY_INVOCATION',
      'status.resolvedApplication.invocation.invocation',
    ],
    [
      'an invalid environment variable name',
      SIMPLE,
      (j) => (invocationOf(j).environment = { 'BAD=NAME': { type: 'word', word: 'x' } }),
      'INVALID_ENVIRONMENT',
      'status.resolvedApplication.invocation.environment.BAD=NAME',
    ],
    [
      'a rendered word too long for the resource',
      SIMPLE,
      (j) => {
        invocationOf(j).invocation[2] = { type: 'var', variableNames: ['value'], prefixVariable: '--value=', isPrefixVariablePartOfArg: true };
        j.specification.parameters!.value = { type: 'text', value: long };
      },
      'INVALID_JOB',
      'spec.command.2',
    ],
  ];
  it.each(errors)('rejects %s', (_name, fixture, change, errorCode, field, cfg = config) => {
    const e = translationError(mutate(fixture, change), cfg);
    expect({ errorCode: e.errorCode, field: e.field, status: e.status }).toEqual({ errorCode, field, status: 400 });
    expect(e.message).toBe(`${field}: ${e.why}`);
  });

  it('never returns a spec the CRD would reject', () => {
    for (const [name, cfg] of [
      [SIMPLE, config],
      [MULTI, withStorage],
    ] as const) {
      expect(UCloudJobSchema.shape.spec.safeParse(jobToSpec(fixtureJob(name), cfg)).success).toBe(true);
    }
  });
});

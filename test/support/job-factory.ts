// The one place tests build jobs, in both of their shapes:
// - as UCloud/Core sends them (the provider API's Job): the spec's "Simple batch Job" fixture
//   under another id (specJob), made multi-rank or time-limited (batchJob), the 3-rank fixture;
// - as the operator stores them (the UCloudJob CR): job() and gpuJob(), valid against the CR
//   schema and stored (name, namespace, uid), for tests below the adapter.
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { API_VERSION, KIND, UCloudJobSchema, type UCloudJob, type UCloudJobSpec } from '../../src/api/v1alpha1/ucloudjob.js';
import { JobSchema, type Job } from '../../src/ucloud/job.js';
import { fixtureJson, MULTI_RANK, SIMPLE_BATCH } from './fixtures.js';

export const NS = 'ucloud-jobs';

// --- as UCloud/Core sends them -------------------------------------------------------------------

/** The spec's "Simple batch Job" exactly as the fixture has it (1 rank, 1 h), under another id. */
export function specJob(id = '54112'): Record<string, unknown> {
  const job = fixtureJson(SIMPLE_BATCH).items[0]!;
  job.id = id;
  return job;
}

/** specJob() as the adapter reads it (parsed with the provider API's schema). */
export function parsedSpecJob(id = '54112'): Job {
  return JobSchema.parse(specJob(id));
}

export interface BatchJobOptions {
  replicas?: number;
  /** Seconds; undefined: none. */
  timeAllocationSeconds?: number;
  /** Extra specification.resources (peers, files). */
  resources?: unknown[];
  /** Another configured product: asked for and resolved by Core as this one. */
  product?: { id: string; category: string; cpu: number; memoryInGigs: number; gpu: number };
}

/** specJob() with `replicas` ranks (the application then allows them) and no time limit unless given. */
export function batchJob(id: string, opts: BatchJobOptions = {}): Record<string, unknown> {
  const job = specJob(id) as { specification: Record<string, unknown>; status: { resolvedApplication: { invocation: Record<string, unknown> } } };
  job.specification.replicas = opts.replicas ?? 1;
  job.status.resolvedApplication.invocation.allowMultiNode = (opts.replicas ?? 1) > 1;
  const t = opts.timeAllocationSeconds;
  job.specification.timeAllocation = t === undefined ? null : { hours: Math.floor(t / 3600), minutes: Math.floor((t % 3600) / 60), seconds: t % 60 };
  if (opts.resources) job.specification.resources = opts.resources;
  const p = opts.product;
  if (p) {
    job.specification.product = { id: p.id, category: p.category, provider: 'example' };
    const resolved = (job.status as unknown as { resolvedProduct: object }).resolvedProduct;
    Object.assign(resolved, { name: p.id, category: { name: p.category, provider: 'example' }, cpu: p.cpu, memoryInGigs: p.memoryInGigs, gpu: p.gpu });
  }
  return job;
}

/** The 3-rank fixture (test/fixtures/multi-rank-job.json), file parameters included. */
export function multiRankJob(): Record<string, unknown> {
  return fixtureJson(MULTI_RANK).items[0]!;
}

// --- as the operator stores them -----------------------------------------------------------------

/** A UCloudJob CR like the one the spec's example becomes, with `spec` overriding fields. */
export function job(spec: Partial<UCloudJobSpec> = {}, uid = 'uid-1', namespace = NS): UCloudJob {
  const jobId = spec.jobId ?? '54112';
  return UCloudJobSchema.parse({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: jobResourceName(jobId), namespace, uid },
    spec: {
      jobId,
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
      mounts: [],
      peers: [],
      sshEnabled: false,
      restartOnExit: false,
      ...spec,
    },
  });
}

/** The 8-rank GPU job used across the tests. */
export function gpuJob(spec: Partial<UCloudJobSpec> = {}): UCloudJob {
  return job({
    jobId: '777',
    replicas: 8,
    product: {
      id: 'u1-gpu-1',
      category: 'u1-gpu',
      provider: 'example',
      cpu: 8,
      memoryInGigs: 32,
      gpu: 1,
      unitOfPrice: 'CREDITS_PER_HOUR',
    },
    image: 'acme/mpi:2',
    command: ['mpirun', '-n', '8', 'solver'],
    env: [{ name: 'OMP_NUM_THREADS', value: '8' }],
    workingDir: '/work',
    ...spec,
  });
}

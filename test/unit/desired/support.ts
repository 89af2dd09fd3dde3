// UCloudJobs for the desired-state tests: valid against the CR schema, stored (name, namespace, uid).
import { jobResourceName } from '../../../src/api/v1alpha1/names.js';
import { API_VERSION, KIND, UCloudJobSchema, type UCloudJob, type UCloudJobSpec } from '../../../src/api/v1alpha1/ucloudjob.js';

export const NS = 'ucloud-jobs';

export function job(spec: Partial<UCloudJobSpec> = {}, uid = 'uid-1'): UCloudJob {
  const jobId = spec.jobId ?? '54112';
  return UCloudJobSchema.parse({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: jobResourceName(jobId), namespace: NS, uid },
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

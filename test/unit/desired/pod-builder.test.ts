import { buildPod, buildPods } from '../../../src/controller/desired/pod-builder.js';
import { ownerReference } from '../../../src/controller/desired/owner.js';
import { unitConfig } from '../../support/config.js';
import { gpuJob, job, NS } from '../../support/job-factory.js';

const labels = (name: string, id: string, rank: number) => ({
  'ucloud.dk/job': name,
  'ucloud.dk/job-id': id,
  'app.kubernetes.io/managed-by': 'ucloud-operator',
  'ucloud.dk/rank': String(rank),
});

/** What IM2 sets on every rank (containers/invocation.go), in its order, for a job without web or opened file. */
const ucloudEnv = (id: string, rank: number, replicas: number) => [
  { name: 'UCLOUD_METRICS_SAMPLE_INTERVAL', value: '0ms' },
  { name: 'UCLOUD_JOB_ID', value: id },
  { name: 'UCLOUD_TASK_COUNT', value: String(replicas) },
  { name: 'VC_JOB_NUM', value: String(replicas) },
  { name: 'VK_TASK_INDEX', value: String(rank) },
  { name: 'VC_TASK_INDEX', value: String(rank) },
  { name: 'UCLOUD_RANK', value: String(rank) },
  { name: 'UCLOUD_URL_IS_PUBLIC', value: 'false' },
];

const etcVolume = (name: string) => ({
  name: 'ucloud-etc',
  projected: {
    sources: [
      { configMap: { name: `${name}-etc` } },
      { downwardAPI: { items: [{ path: 'rank.txt', fieldRef: { fieldPath: "metadata.labels['ucloud.dk/rank']" } }] } },
    ],
  },
});

describe('the pod of a one-rank job', () => {
  it('is exactly this', () => {
    expect(buildPod(job(), 0, unitConfig())).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'j-54112-0',
        namespace: NS,
        labels: labels('j-54112', '54112', 0),
        annotations: { 'ucloud.dk/job-id': '54112' },
        ownerReferences: [ownerReference(job())],
      },
      spec: {
        hostname: 'j-54112-0',
        subdomain: 'j-54112',
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 11042,
          runAsGroup: 11042,
          fsGroup: 11042,
          fsGroupChangePolicy: 'OnRootMismatch',
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'user-job',
            image: 'acme/batch:1.0.0',
            imagePullPolicy: 'IfNotPresent',
            command: ['acme-batch', '--debug', 'Hello, World!'],
            env: [...ucloudEnv('54112', 0, 1), { name: 'NVIDIA_VISIBLE_DEVICES', value: 'void' }],
            // IM2's sizing (ADR 0023): 2 GB; the largest example-compute product has 8 cores, so
            // each core leaves ceil(500 m / 8) = 63 m of the node's reserve out of its request.
            resources: {
              requests: { cpu: '937m', memory: '2G', 'ephemeral-storage': '20Gi' },
              limits: { cpu: '1', memory: '2G', 'ephemeral-storage': '20Gi' },
            },
            securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'ucloud-etc', mountPath: '/etc/ucloud', readOnly: true },
              { name: 'work', mountPath: '/work' },
              { name: 'dshm', mountPath: '/dev/shm' },
            ],
          },
        ],
        volumes: [etcVolume('j-54112'), { name: 'work', emptyDir: { sizeLimit: '20Gi' } }, { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '2G' } }],
        nodeSelector: { 'ucloud.dk/machine': 'example-compute' },
      },
    });
  });

  it('drops runAsNonRoot and the 11042 user only when the application runs as root', () => {
    const pod = buildPod(job({ runAsRoot: true }), 0, unitConfig());
    expect(pod.spec?.securityContext).toEqual({
      runAsNonRoot: false,
      fsGroup: 11042,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // Root inside the container still gets no extra powers.
    expect(pod.spec?.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('sizes an emptyDir /work when configured and places nothing without a machine selector', () => {
    const pod = buildPod(job(), 0, unitConfig({ useMachineSelector: false, jobs: { workVolume: { type: 'emptyDir', sizeLimit: '10Gi' } } }));
    expect(pod.spec?.volumes?.find((v) => v.name === 'work')).toEqual({ name: 'work', emptyDir: { sizeLimit: '10Gi' } });
    expect(pod.spec).not.toHaveProperty('nodeSelector');
    expect(pod.spec).not.toHaveProperty('tolerations');
  });

  it('lets the operator variables win over application variables of the same name', () => {
    const app = [
      { name: 'UCLOUD_RANK', value: '9' },
      { name: 'A', value: 'b' },
      { name: 'VK_TASK_INDEX', value: '9' },
      { name: 'UCLOUD_URL_IS_PUBLIC', value: 'true' },
    ];
    const pod = buildPod(job({ env: app }), 0, unitConfig());
    expect(pod.spec?.containers[0]?.env).toEqual([{ name: 'A', value: 'b' }, ...ucloudEnv('54112', 0, 1), { name: 'NVIDIA_VISIBLE_DEVICES', value: 'void' }]);
  });

  it.each([-1, 1, 0.5])('refuses rank %p', (rank) => {
    expect(() => buildPod(job(), rank, unitConfig())).toThrow(RangeError);
  });

  it('refuses file mounts without shared storage rather than run without the files', () => {
    const j = job({ mounts: [{ name: 'file-0', ucloudPath: '/1/a', subPath: '1/a', mountPath: '/work/a', readOnly: false }] });
    expect(() => buildPod(j, 0, unitConfig())).toThrow(/sharedStorage/);
  });
});

describe('the pods of an eight-rank GPU job', () => {
  const config = unitConfig({
    categories: {
      'u1-gpu': {
        nodeSelector: { 'nvidia.com/gpu.product': 'A100', 'ucloud.dk/machine': 'gpu-pool' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
    jobs: {
      imagePullPolicy: 'Always',
      workVolume: { type: 'pvc', claimName: 'scratch' },
      sharedStorage: { claimName: 'ucloud-storage' },
      podLabels: { 'site/team': 'hpc', 'ucloud.dk/rank': 'forged' },
      podAnnotations: { 'site/cost-centre': '42', 'ucloud.dk/job-id': 'forged' },
    },
  });
  const j = gpuJob({
    mounts: [
      { name: 'file-0', ucloudPath: '/1/data', subPath: '1/data', mountPath: '/work/data', readOnly: true },
      { name: 'file-1', ucloudPath: '/projects/p/out', subPath: 'projects/p/out', mountPath: '/work/out', readOnly: false },
    ],
    peers: [{ hostname: 'db', jobId: '900' }],
  });
  const pods = buildPods(j, config);
  const pod = pods[3]!;
  const container = pod.spec!.containers[0]!;

  it('are one per rank with stable names and DNS', () => {
    expect(pods.map((p) => [p.metadata?.name, p.spec?.hostname, p.spec?.subdomain, p.metadata?.labels?.['ucloud.dk/rank']])).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((r) => [`j-777-${r}`, `j-777-${r}`, 'j-777', String(r)]),
    );
  });

  it('carry site labels and annotations without letting them replace the operator ones', () => {
    expect(pod.metadata?.labels).toEqual({ 'site/team': 'hpc', ...labels('j-777', '777', 3) });
    expect(pod.metadata?.annotations).toEqual({ 'site/cost-centre': '42', 'ucloud.dk/job-id': '777' });
  });

  it('get the product with memory and GPU requests equal to limits and the CPU request short of the reserve', () => {
    const r = { memory: '32G', 'nvidia.com/gpu': '1', 'ephemeral-storage': '20Gi' };
    expect(container.resources).toEqual({ requests: { cpu: '7496m', ...r }, limits: { cpu: '8', ...r } });
  });

  it('run the invocation with the rank in the environment', () => {
    expect(container).toMatchObject({
      image: 'acme/mpi:2',
      imagePullPolicy: 'Always',
      command: ['mpirun', '-n', '8', 'solver'],
      workingDir: '/work',
      env: [{ name: 'OMP_NUM_THREADS', value: '8' }, ...ucloudEnv('777', 3, 8)],
    });
  });

  it('mount /etc/ucloud, the PVC /work, /dev/shm and the user files', () => {
    expect(pod.spec?.volumes).toEqual([
      etcVolume('j-777'),
      { name: 'work', persistentVolumeClaim: { claimName: 'scratch' } },
      { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '32G' } },
      { name: 'shared-storage', persistentVolumeClaim: { claimName: 'ucloud-storage' } },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'ucloud-etc', mountPath: '/etc/ucloud', readOnly: true },
      { name: 'work', mountPath: '/work', subPath: 'jobs/777' },
      { name: 'dshm', mountPath: '/dev/shm' },
      { name: 'shared-storage', mountPath: '/work/data', subPath: '1/data', readOnly: true },
      { name: 'shared-storage', mountPath: '/work/out', subPath: 'projects/p/out', readOnly: false },
    ]);
  });

  it('land on the category nodes, the category selector winning', () => {
    expect(pod.spec?.nodeSelector).toEqual({ 'ucloud.dk/machine': 'gpu-pool', 'nvidia.com/gpu.product': 'A100' });
    expect(pod.spec?.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('search the peer alias domain so a bare peer hostname resolves', () => {
    expect(pod.spec?.dnsConfig).toEqual({ searches: [`j-777-peers.${NS}.svc.cluster.local`] });
    expect(buildPod(gpuJob(), 0, config).spec).not.toHaveProperty('dnsConfig');
  });

  it('use no hostAliases and keep the pod-level security settings', () => {
    expect(pod.spec).not.toHaveProperty('hostAliases');
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 11042,
        runAsGroup: 11042,
        fsGroup: 11042,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
  });

  it('do not share objects with the configuration or each other', () => {
    pods[0]!.spec!.tolerations![0]!.key = 'changed';
    pods[0]!.spec!.containers[0]!.command!.push('x');
    expect(buildPod(j, 0, config).spec?.tolerations?.[0]?.key).toBe('nvidia.com/gpu');
    expect(pods[1]!.spec?.containers[0]?.command).toEqual(['mpirun', '-n', '8', 'solver']);
  });
});

// The kueue gang backend's pure side (docs/adr/0025): the Workload a job gets, the LocalQueue the
// site's mapping picks, what an admission adds to the pods, and the reason text while it waits.
import type { ResourceFlavor, Workload } from '../../../src/api/kueue/workload.js';
import {
  admittedFlavors,
  admittedPlacement,
  finishedCondition,
  isAdmitted,
  kueueQueueName,
  kueueWaitingText,
  workloadFor,
} from '../../../src/controller/desired/workload-builder.js';
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { unitConfig } from '../../support/config.js';
import { NS, job } from '../../support/job-factory.js';

const kueueConfig = (kueue: Record<string, unknown> = {}) => unitConfig({ namespace: NS, jobs: { gang: { backend: 'kueue', kueue } } });

describe('workloadFor', () => {
  it('is one pod set of replicas pods sized as the rank pods, in the default LocalQueue, owned by the job', () => {
    const config = kueueConfig();
    const j = job({ jobId: '7', replicas: 4 }, 'uid-7');
    const w = workloadFor(j, config);
    const rank = buildPod(j, 0, config).spec!;
    expect(w.apiVersion).toBe('kueue.x-k8s.io/v1beta2');
    expect(w.metadata.name).toBe('j-7');
    expect(w.metadata.namespace).toBe(NS);
    expect(w.metadata.ownerReferences).toEqual([
      { apiVersion: 'ucloud.dk/v1alpha1', kind: 'UCloudJob', name: 'j-7', uid: 'uid-7', controller: true, blockOwnerDeletion: true },
    ]);
    expect(w.metadata.labels?.['ucloud.dk/job']).toBe('j-7');
    expect(w.spec.queueName).toBe('ucloud');
    expect(w.spec.podSets).toHaveLength(1);
    const [set] = w.spec.podSets;
    expect(set!.name).toBe('main');
    expect(set!.count).toBe(4);
    const spec = set!.template.spec as { containers: Array<{ resources: unknown }>; nodeSelector?: unknown; tolerations?: unknown };
    expect(spec.containers).toHaveLength(1);
    expect(spec.containers[0]!.resources).toEqual(rank.containers[0]!.resources);
    expect(spec.nodeSelector).toEqual(rank.nodeSelector);
  });

  it('does not carry the job command or environment into the Workload', () => {
    const j = job({ jobId: '8', replicas: 2, env: [{ name: 'SECRET_TOKEN', value: 'hunter2' }] }, 'uid-8');
    expect(JSON.stringify(workloadFor(j, kueueConfig()))).not.toContain('hunter2');
  });
});

describe('kueueQueueName: the project → LocalQueue mapping', () => {
  const inProject = (project?: string) => job({ jobId: '9', owner: { createdBy: 'user', ...(project ? { project } : {}) } });

  it('sends every job to queueName when no project rule is set', () => {
    expect(kueueQueueName(inProject('p-1'), kueueConfig({ queueName: 'shared' }))).toBe('shared');
  });

  it('sends a project job to its project queue, and a personal job to queueName', () => {
    const config = kueueConfig({ projectQueueName: 'project-{project}' });
    expect(kueueQueueName(inProject('0f6b2a3c-aaaa-4bbb-8ccc-123456789abc'), config)).toBe('project-0f6b2a3c-aaaa-4bbb-8ccc-123456789abc');
    expect(kueueQueueName(inProject('Other_Project'), config)).toBe('project-other-project');
    expect(kueueQueueName(inProject(), config)).toBe('ucloud');
  });

  it('refuses a mapping rule that is not a queue name', () => {
    expect(() => kueueConfig({ projectQueueName: 'Project {project}' })).toThrow();
    expect(() => kueueConfig({ projectQueueName: 'no-placeholder' })).toThrow();
  });
});

describe('admission', () => {
  const base = workloadFor(job({ jobId: '10', replicas: 2 }, 'uid-10'), kueueConfig());
  const withStatus = (status: Workload['status']): Workload => ({ ...base, status });
  const admitted = withStatus({
    conditions: [
      { type: 'QuotaReserved', status: 'True', reason: 'QuotaReserved' },
      { type: 'Admitted', status: 'True', reason: 'Admitted' },
    ],
    admission: { clusterQueue: 'cq', podSetAssignments: [{ name: 'main', flavors: { cpu: 'fast', memory: 'fast', 'ephemeral-storage': 'disk' }, count: 2 }] },
    admissionChecks: [{ name: 'prov', podSetUpdates: [{ name: 'main', nodeSelector: { zone: 'b' }, tolerations: [{ key: 'prov', operator: 'Exists' }] }] }],
  });

  it('is admitted only with the Admitted condition and an admission', () => {
    expect(isAdmitted(admitted)).toBe(true);
    expect(isAdmitted(withStatus({ conditions: [{ type: 'QuotaReserved', status: 'True' }] }))).toBe(false);
    expect(isAdmitted(base)).toBe(false);
    expect(isAdmitted(undefined)).toBe(false);
  });

  it("adds each assigned flavor's nodeLabels and tolerations and the admission checks' updates, as Kueue's integrations do", () => {
    expect(admittedFlavors(admitted)).toEqual(['disk', 'fast']);
    const flavors: ResourceFlavor[] = [
      { metadata: { name: 'disk' }, spec: { nodeLabels: { disk: 'ssd' } } },
      {
        metadata: { name: 'fast' },
        spec: { nodeLabels: { pool: 'fast' }, tolerations: [{ key: 'pool', operator: 'Equal', value: 'fast', effect: 'NoSchedule' }] },
      },
    ];
    expect(admittedPlacement(admitted, flavors)).toEqual({
      nodeSelector: { disk: 'ssd', pool: 'fast', zone: 'b' },
      tolerations: [
        { key: 'pool', operator: 'Equal', value: 'fast', effect: 'NoSchedule' },
        { key: 'prov', operator: 'Exists' },
      ],
    });
  });

  it("the admitted placement goes onto the pod on top of the site's", () => {
    const config = unitConfig({ namespace: NS, categories: { 'example-compute': { nodeSelector: { site: 'x' } } } });
    const pod = buildPod(job({ jobId: '11' }, 'uid-11'), 0, config, {
      admitted: { nodeSelector: { pool: 'fast' }, tolerations: [{ key: 'pool', operator: 'Exists' }] },
    });
    expect(pod.spec!.nodeSelector).toMatchObject({ site: 'x', pool: 'fast' });
    expect(pod.spec!.tolerations).toEqual([{ key: 'pool', operator: 'Exists' }]);
  });

  it("says why a job waits in Kueue's words, or only the queue before Kueue has looked", () => {
    expect(kueueWaitingText('ucloud', base)).toBe('Waiting for Kueue admission in queue ucloud');
    const pending = withStatus({
      conditions: [
        {
          type: 'QuotaReserved',
          status: 'False',
          reason: 'Pending',
          message: "couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default, 4 more needed",
        },
      ],
    });
    expect(kueueWaitingText('ucloud', pending)).toBe(
      "Waiting for Kueue admission in queue ucloud: couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default, 4 more needed",
    );
    expect(kueueWaitingText('q', withStatus({ conditions: [{ type: 'QuotaReserved', status: 'True' }] }))).toBe(
      'Waiting for Kueue admission in queue q: quota reserved, waiting for admission checks',
    );
  });

  it('finishes Succeeded for SUCCESS and Failed otherwise', () => {
    const at = new Date('2026-12-07T10:00:00.123Z');
    expect(finishedCondition('SUCCESS', at)).toMatchObject({
      type: 'Finished',
      status: 'True',
      reason: 'Succeeded',
      lastTransitionTime: '2026-12-07T10:00:00Z',
    });
    expect(finishedCondition('EXPIRED', at)).toMatchObject({ reason: 'Failed' });
  });
});

import { configMap, rankFiles, rankViewOf } from '../../../src/controller/desired/rank-files.js';
import { unitConfig } from '../../support/config.js';
import { gpuJob, job, NS } from '../../support/job-factory.js';

const config = unitConfig();
const host = (r: number) => `j-777-${r}.j-777.${NS}.svc.cluster.local`;

describe('the /etc/ucloud files', () => {
  it('of a one-rank job', () => {
    const h = `j-54112-0.j-54112.${NS}.svc.cluster.local`;
    expect(rankFiles(job(), config)).toEqual({
      'node-0.txt': `${h}\n`,
      'nodes.txt': `${h}\n`,
      'number_of_nodes.txt': '1\n',
      'cores.txt': '1\n',
      'job_id.txt': '54112\n',
    });
  });

  it('of an eight-rank job', () => {
    const files = rankFiles(gpuJob(), config);
    expect(files).toEqual({
      'node-0.txt': `${host(0)}\n`,
      'node-1.txt': `${host(1)}\n`,
      'node-2.txt': `${host(2)}\n`,
      'node-3.txt': `${host(3)}\n`,
      'node-4.txt': `${host(4)}\n`,
      'node-5.txt': `${host(5)}\n`,
      'node-6.txt': `${host(6)}\n`,
      'node-7.txt': `${host(7)}\n`,
      'nodes.txt': [0, 1, 2, 3, 4, 5, 6, 7].map((r) => `${host(r)}\n`).join(''),
      'number_of_nodes.txt': '8\n',
      'cores.txt': '8\n',
      'job_id.txt': '777\n',
    });
    // rank.txt differs per pod, so it is never shared.
    expect(files).not.toHaveProperty('rank.txt');
  });

  it('use the configured cluster domain', () => {
    const files = rankFiles(job(), unitConfig({ jobs: { clusterDomain: 'hpc.example' } }));
    expect(files['node-0.txt']).toBe(`j-54112-0.j-54112.${NS}.svc.hpc.example\n`);
  });

  it('live in a ConfigMap owned by the job', () => {
    const cm = configMap(gpuJob(), config);
    expect(cm).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'j-777-etc',
        namespace: NS,
        labels: { 'ucloud.dk/job': 'j-777', 'ucloud.dk/job-id': '777', 'app.kubernetes.io/managed-by': 'ucloud-operator' },
        ownerReferences: [{ apiVersion: 'ucloud.dk/v1alpha1', kind: 'UCloudJob', name: 'j-777', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
      },
      data: rankFiles(gpuJob(), config),
    });
  });
});

describe('what one rank sees', () => {
  const data = rankFiles(gpuJob(), config);

  it('rank 0', () => {
    expect(rankViewOf(data, 0)).toEqual({ ...data, 'rank.txt': '0' });
  });

  it('rank 7', () => {
    const view = rankViewOf(data, 7);
    expect(Object.keys(view).sort()).toEqual([
      'cores.txt',
      'job_id.txt',
      'node-0.txt',
      'node-1.txt',
      'node-2.txt',
      'node-3.txt',
      'node-4.txt',
      'node-5.txt',
      'node-6.txt',
      'node-7.txt',
      'nodes.txt',
      'number_of_nodes.txt',
      'rank.txt',
    ]);
    expect(view['rank.txt']).toBe('7');
    expect(view['node-7.txt']).toBe(`${host(7)}\n`);
  });
});

// What create looks up at UCloud/Core before translating, as IM2 does: a whole mounted drive is
// named by its title (shared/mount_paths.go ResolveJobMounts), a license parameter becomes its
// server (controller/license_database.go LicenseBuildParameter). A look-up never fails the create.
import type { Job } from '../../../src/ucloud/job.js';
import { adapterConfig, jobsPath, makeKeys, simpleJob, startAdapter, storedJob, type Keys } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const mounting = (id: string, ...paths: string[]) =>
  simpleJob(id, (j: Job) => void (j.specification.resources = paths.map((path) => ({ type: 'file' as const, path, readOnly: false }))));

describe('create: whole drives', () => {
  it('mounts a whole drive at /work/<its title>, and a drive Core does not know under its id', async () => {
    const asked: string[] = [];
    const titles: Record<string, string> = { '4711': 'Member Files: alice#1234', '5': 'Data' };
    const h = await startAdapter(keys, {
      config: adapterConfig(keys.der, { jobs: { sharedStorage: { claimName: 'ucloud-storage' } } }),
      deps: { driveTitle: async (id) => (asked.push(id), titles[id]) },
    });
    try {
      const res = await h.call('POST', jobsPath(), { items: [mounting('801', '/4711', '/5/', '/6', '/5/Data')] });
      expect(res.status).toBe(200);
      const spec = (await storedJob(h.kube, '801'))!.spec;
      expect(spec.mounts.map((m) => [m.ucloudPath, m.mountPath])).toEqual([
        ['/4711', '/work/alice#1234'],
        ['/5/', '/work/Data-0'],
        ['/6', '/work/6'],
        ['/5/Data', '/work/Data-1'],
      ]);
      expect(asked.sort()).toEqual(['4711', '5', '6']);
    } finally {
      await h.close();
    }
  });

  it('still creates the job, drives named by id, when the look-up fails', async () => {
    const h = await startAdapter(keys, {
      config: adapterConfig(keys.der, { jobs: { sharedStorage: { claimName: 'ucloud-storage' } } }),
      deps: {
        driveTitle: async () => {
          throw new Error('Core is down');
        },
      },
    });
    try {
      expect((await h.call('POST', jobsPath(), { items: [mounting('802', '/4711')] })).status).toBe(200);
      expect((await storedJob(h.kube, '802'))!.spec.mounts[0]!.mountPath).toBe('/work/4711');
    } finally {
      await h.close();
    }
  });
});

describe('create: license parameters', () => {
  const licensed = (id: string, licenseId: string) =>
    simpleJob(id, (j: Job) => {
      const app = j.status!.resolvedApplication!.invocation;
      app.parameters.push({ type: 'license_server', name: 'lic', optional: false } as never);
      app.invocation.push({ type: 'var', variableNames: ['lic'], prefixGlobal: '--license' } as never);
      j.specification.parameters!.lic = { type: 'license_server', id: licenseId };
    });
  const config = () =>
    adapterConfig(keys.der, {
      licenses: [
        { product: 'matlab-campus', address: 'lic.example.org', port: 27000, license: 'KEY-1' },
        { product: 'comsol', address: 'comsol.example.org' },
      ],
    });

  it.each([
    ['a license of a product the site serves', 'L1', ['--license', 'lic.example.org:27000/KEY-1']],
    ['one without port or key: "null" as IM2 writes it', 'L2', ['--license', 'comsol.example.org:null']],
    ['one whose product the site has no server for keeps its id', 'L3', ['--license', 'L3']],
    ['one Core does not know keeps its id', 'L4', ['--license', 'L4']],
  ])('renders %s', async (_what, licenseId, tail) => {
    const products: Record<string, string> = { L1: 'matlab-campus', L2: 'comsol', L3: 'ansys' };
    const h = await startAdapter(keys, { config: config(), deps: { licenseProduct: async (id) => products[id] } });
    try {
      expect((await h.call('POST', jobsPath(), { items: [licensed('900', licenseId)] })).status).toBe(200);
      expect((await storedJob(h.kube, '900'))!.spec.command.slice(-2)).toEqual(tail);
    } finally {
      await h.close();
    }
  });
});

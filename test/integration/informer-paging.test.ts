// The informer lists in pages (limit + continue) on the real apiserver, so a cache of 10,000 jobs
// never holds the raw JSON of all of them at once; a relist after deletions drops what is gone;
// the UCloudJob cache carries no managedFields while writes built from it keep the server's copy.
import { V1ConfigMap } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import { Informer } from '../../src/k8s/informer.js';
import type { ListPage } from '../../src/k8s/kube-port.js';
import { rootLogger } from '../../src/observability/log.js';
import { trimJob } from '../../src/controller/job-trim.js';
import { createTestNamespace, eventually, testConfig, type TestNamespace } from '../support/harness.js';
import { jobToResource } from '../../src/translate/job-to-spec.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';
import { parsedSpecJob } from '../support/job-factory.js';

describe('informer list paging', () => {
  let ns: TestNamespace;
  let core: UCloudCoreEmulator;
  const informers: Array<Informer<never>> = [];
  beforeAll(async () => {
    ns = await createTestNamespace('paging');
    core = await UCloudCoreEmulator.start();
  });
  afterAll(async () => {
    for (const i of informers) await i.stop();
    await core.close();
    await ns.delete();
  });

  it('follows continue tokens to the last page, and a later relist drops deleted objects', async () => {
    const label = { 'ucloud.dk/paging': 'yes' };
    for (let i = 0; i < 11; i++) {
      await ns.kube.configMaps.create(ns.name, { metadata: { name: `cm-${i}`, labels: label }, data: { i: String(i) } } as V1ConfigMap);
    }
    const pages: ListPage[] = [];
    const informer = new Informer<V1ConfigMap>({
      kc: ns.kc,
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      labelSelector: 'ucloud.dk/paging=yes',
      list: (page) => {
        pages.push(page);
        return ns.kube.configMaps.list(ns.name, 'ucloud.dk/paging=yes', page);
      },
      pageSize: 4,
      resource: 'configmaps',
      logger: rootLogger,
      relistIntervalMs: 1000,
    });
    informers.push(informer as never);
    await informer.start();
    expect(informer.size).toBe(11);
    // 11 objects at 4 per page: three requests, the 2nd and 3rd carrying the apiserver's token.
    expect(pages.slice(0, 3).map((p) => [p.limit, typeof p.continue])).toEqual([
      [4, 'undefined'],
      [4, 'string'],
      [4, 'string'],
    ]);
    expect(
      informer
        .list()
        .map((c) => c.data?.i)
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual(Array.from({ length: 11 }, (_, i) => String(i)));

    // Gone while the informer watches, and caught by the watch or, at the latest, the next paged relist.
    for (const i of [0, 5, 10]) await ns.kube.configMaps.delete(ns.name, `cm-${i}`);
    await eventually(() => informer.size === 8, 'the cache to drop the three deleted ConfigMaps');
    const relists = pages.length;
    await eventually(() => pages.length >= relists + 2, 'a paged relist');
    expect(informer.size).toBe(8);
    expect(informer.get(ns.name, 'cm-5')).toBeUndefined();
  });

  it('caches UCloudJobs without managedFields, and a status write from the cached copy keeps the server’s', async () => {
    const config = testConfig(ns.name, core);
    const resource = jobToResource(parsedSpecJob(), config);
    const { object: created } = await ns.kube.ucloudJobs.create(resource);
    expect(((created as unknown as { metadata: { managedFields?: unknown[] } }).metadata.managedFields ?? []).length).toBeGreaterThan(0);
    const informer = new Informer<UCloudJob>({
      kc: ns.kc,
      path: `/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/${PLURAL}`,
      list: (page) => ns.kube.ucloudJobs.list(ns.name, page),
      resource: PLURAL,
      logger: rootLogger,
      transform: trimJob,
    });
    informers.push(informer as never);
    await informer.start();
    const cached = informer.get(ns.name, created.metadata.name)!;
    expect(cached.spec).toEqual(created.spec);
    expect('managedFields' in cached.metadata).toBe(false);

    await ns.kube.ucloudJobs.replaceStatus({ ...cached, status: { ...cached.status, message: 'written from the trimmed copy' } } as UCloudJob);
    const stored = (await ns.kube.ucloudJobs.get(ns.name, created.metadata.name)) as unknown as UCloudJob & {
      metadata: { managedFields?: Array<{ manager?: string; subresource?: string }> };
    };
    expect(stored.status?.message).toBe('written from the trimmed copy');
    // The creator's entry survives and the status writer's was added: the server kept what it had.
    const managers = (stored.metadata.managedFields ?? []).map((f) => `${f.manager}${f.subresource ? `/${f.subresource}` : ''}`);
    expect(managers.length).toBeGreaterThanOrEqual(2);
    expect(managers.some((m) => m.endsWith('/status'))).toBe(true);
    expect(managers.some((m) => !m.endsWith('/status'))).toBe(true);
  });
});

// The UCloudJob CRD in crds/ on the real apiserver: it is accepted as written (nothing
// pruned or defaulted away from its schema), it rejects objects that break the schema with 422
// before any controller sees them, and kubectl shows the columns and documentation.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, loadYaml } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import { jobToResource } from '../../src/translate/job-to-spec.js';
import { REPO } from '../support/cluster-env.js';
import { fixtureJob } from '../support/fixtures.js';
import { createTestNamespace, testConfig, type TestNamespace } from '../support/harness.js';
import { kubectl } from '../support/ops.js';
import type { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';

const CRD_FILE = resolve(REPO, 'crds/ucloudjobs.ucloud.dk.yaml');

const parse = (text: string): any => loadYaml(text);

describe('the UCloudJob CRD on the apiserver', () => {
  let ns: TestNamespace;
  let api: CustomObjectsApi;
  beforeAll(async () => {
    ns = await createTestNamespace('crd');
    api = ns.kc.makeApiClient(CustomObjectsApi);
  });
  afterAll(async () => {
    await ns?.delete();
  });

  /** A valid UCloudJob for the spec example, translated as the adapter does. */
  function validJob(id: string): UCloudJob {
    const fakeCore = { providerId: 'example', url: 'http://127.0.0.1:1', publicKeyBase64Der: () => 'unused', refreshToken: 'unused' };
    const config = testConfig(ns.name, fakeCore as unknown as UCloudCoreEmulator);
    return jobToResource({ ...fixtureJob('create-simple-batch.json'), id }, config);
  }

  async function create(body: unknown): Promise<{ status: number; message: string }> {
    try {
      await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns.name, plural: PLURAL, body: body as object });
      return { status: 201, message: '' };
    } catch (e) {
      const err = e as { code?: number; body?: string };
      const body = typeof err.body === 'string' ? (JSON.parse(err.body) as { message?: string }) : {};
      return { status: err.code ?? 0, message: body.message ?? String(e) };
    }
  }

  it('is established with its names accepted and its schema stored exactly as written', async () => {
    const file = parse(readFileSync(CRD_FILE, 'utf8'));
    const ext = ns.kc.makeApiClient(ApiextensionsV1Api);
    const crd = await ext.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    const conditions = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(conditions.NonStructuralSchema).toBeUndefined();
    expect(crd.status?.acceptedNames).toMatchObject({ kind: 'UCloudJob', shortNames: ['uj'], categories: ['ucloud'] });
    // The apiserver returns what it stored: equal to the file means nothing was dropped or changed.
    const served = JSON.parse(JSON.stringify(crd.spec.versions));
    expect(served.map((v: { name: string }) => v.name)).toEqual(file.spec.versions.map((v: { name: string }) => v.name));
    expect(served[0].schema).toEqual(file.spec.versions[0].schema);
    expect(served[0].subresources).toEqual(file.spec.versions[0].subresources);
    expect(served[0].additionalPrinterColumns).toEqual(file.spec.versions[0].additionalPrinterColumns);
  });

  it('accepts a valid job and rejects invalid ones with 422 naming the field', async () => {
    expect(await create(validJob('7001'))).toEqual({ status: 201, message: '' });

    const zeroReplicas = validJob('7002');
    zeroReplicas.spec.replicas = 0;
    const r0 = await create(zeroReplicas);
    expect(r0.status).toBe(422);
    expect(r0.message).toMatch(/spec\.replicas/);

    const noJobId = validJob('7003') as unknown as { spec: Record<string, unknown> };
    delete noJobId.spec.jobId;
    const r1 = await create(noJobId);
    expect(r1.status).toBe(422);
    expect(r1.message).toMatch(/spec\.jobId: Required value/);

    const wrongType = validJob('7004') as unknown as { spec: Record<string, unknown> };
    wrongType.spec.command = 'acme-batch --debug';
    const r2 = await create(wrongType);
    expect(r2.status).toBe(422);
    expect(r2.message).toMatch(/spec\.command/);

    // Only the valid one exists.
    const list = (await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns.name, plural: PLURAL })) as {
      items: UCloudJob[];
    };
    expect(list.items.map((j) => j.spec.jobId)).toEqual(['7001']);
  });

  it('kubectl get uj shows the UCloud columns and kubectl explain documents every spec field', async () => {
    const get = await kubectl(['-n', ns.name, 'get', 'uj']);
    expect(get.stderr).toBe('');
    const header = get.stdout.split('\n')[0]!.split(/\s{2,}/);
    expect(header).toEqual(['NAME', 'UCLOUD ID', 'OWNER', 'STATE', 'RANKS', 'REPORTED', 'AGE']);
    expect(get.stdout).toMatch(/j-7001\s+7001\s/);

    const explain = await kubectl(['explain', 'ucloudjob.spec']);
    expect(explain.code).toBe(0);
    const file = parse(readFileSync(CRD_FILE, 'utf8'));
    const fields = Object.keys(file.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties as object);
    expect(fields.length).toBeGreaterThan(5);
    for (const f of fields) expect(explain.stdout).toMatch(new RegExp(`^\\s+${f}\\s`, 'm'));
    // Every field has a description in the schema (what explain prints under its name).
    for (const [f, s] of Object.entries(file.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties as Record<string, { description?: string }>)) {
      expect([f, typeof s.description === 'string' && s.description.length > 0]).toEqual([f, true]);
    }
  });
});

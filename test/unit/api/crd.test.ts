import { readFileSync } from 'node:fs';
import { buildCrd, CRD_PATH, renderCrdYaml } from '../../../src/api/v1alpha1/crd.js';

type Json = Record<string, any>;

/** Kubernetes rejects non-structural schemas; these are the rules that bite generated ones. */
function assertStructural(node: Json, path: string): void {
  expect(node.$ref).toBeUndefined();
  expect(node.$schema).toBeUndefined();
  if (node.properties) {
    expect({ path, additionalProperties: node.additionalProperties }).toEqual({ path, additionalProperties: undefined });
    for (const [k, v] of Object.entries(node.properties)) assertStructural(v as Json, `${path}.${k}`);
  }
  if (!node['x-kubernetes-preserve-unknown-fields'] && !node.anyOf && !node.oneOf) {
    expect({ path, type: typeof node.type }).toEqual({ path, type: 'string' });
  }
  if (node.items) assertStructural(node.items, `${path}[]`);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') assertStructural(node.additionalProperties, `${path}{}`);
}

describe('UCloudJob CRD', () => {
  it('is committed exactly as generated from the zod schema (no drift)', () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(renderCrdYaml());
  });

  it('has the names, printer columns and status subresource SREs rely on', () => {
    const crd = buildCrd() as Json;
    expect(crd.metadata.name).toBe('ucloudjobs.ucloud.dk');
    expect(crd.spec.names).toMatchObject({ kind: 'UCloudJob', shortNames: ['uj'], categories: ['ucloud'] });
    const v = crd.spec.versions[0];
    expect(v.name).toBe('v1alpha1');
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.map((c: Json) => c.name)).toEqual(expect.arrayContaining(['UCloud ID', 'Owner', 'State', 'Ranks', 'Age']));
  });

  it('is a structural schema with a description on every spec field', () => {
    const root = (buildCrd() as Json).spec.versions[0].schema.openAPIV3Schema;
    assertStructural(root, 'root');
    const undocumented: string[] = [];
    const walk = (n: Json, p: string) => {
      for (const [k, v] of Object.entries((n.properties ?? {}) as Json)) {
        if (!v.description) undocumented.push(`${p}.${k}`);
        walk(v, `${p}.${k}`);
        if (v.items) walk(v.items, `${p}.${k}[]`);
      }
    };
    walk(root.properties.spec, 'spec');
    expect(undocumented).toEqual([]);
  });
});

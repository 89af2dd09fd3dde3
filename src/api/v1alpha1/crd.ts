// Builds the UCloudJob CustomResourceDefinition from the zod schemas, so the apiserver validates
// exactly what the operator parses. zod's JSON Schema is post-processed into Kubernetes'
// structural OpenAPI v3 subset: no $schema/$ref/additionalProperties alongside properties,
// anyOf-of-null collapsed to nullable, integer formats kept, maps via additionalProperties only.
import { dump } from 'js-yaml';
import { z } from 'zod';
import { GROUP, KIND, PLURAL, SINGULAR, UCloudJobSpecSchema, UCloudJobStatusSchema, VERSION } from './ucloudjob.js';

type Json = Record<string, unknown>;

function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (!node || typeof node !== 'object') return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema' || k === '$id' || k === 'id') continue;
    if (k === 'additionalProperties' && v === false) continue;
    if (k === 'exclusiveMinimum' || k === 'exclusiveMaximum') {
      // JSON Schema 2020 numeric form → OpenAPI v3 boolean form.
      if (typeof v === 'number') {
        out[k === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = v;
        out[k] = true;
        continue;
      }
    }
    if (k === 'const') {
      out.enum = [v];
      continue;
    }
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      const props: Json = {};
      for (const [pk, pv] of Object.entries(v as Json)) props[pk] = structural(pv);
      out[k] = props;
      continue;
    }
    out[k] = structural(v);
  }
  if (out.type === 'integer' && typeof out.maximum === 'number' && out.maximum >= Number.MAX_SAFE_INTEGER) delete out.maximum;
  if (out.type === 'integer' && typeof out.minimum === 'number' && out.minimum <= Number.MIN_SAFE_INTEGER) delete out.minimum;
  if (out.type === 'integer') out.format = 'int64';
  // The apiserver checks format: date-time itself; zod's equivalent regular expression is noise.
  if (out.format === 'date-time') delete out.pattern;
  return out;
}

export function openApiSchema(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', unrepresentable: 'any', io: 'input' }) as Json;
  return structural(json) as Json;
}

export function buildCrd(): Json {
  const spec = openApiSchema(UCloudJobSpecSchema);
  const status = openApiSchema(UCloudJobStatusSchema);
  // metav1.Condition lists are maps keyed by type, so server-side apply can merge them one by one.
  const conditions = (status.properties as Json).conditions as Json;
  conditions['x-kubernetes-list-type'] = 'map';
  conditions['x-kubernetes-list-map-keys'] = ['type'];
  immutable(spec);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'ucloud-operator', 'app.kubernetes.io/part-of': 'ucloud-operator' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: ['uj'], categories: ['ucloud'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'UCloud ID', type: 'string', jsonPath: '.spec.jobId', description: 'UCloud job id' },
            { name: 'Owner', type: 'string', jsonPath: '.spec.owner.createdBy', description: 'UCloud user who created the job' },
            { name: 'State', type: 'string', jsonPath: '.status.state', description: 'UCloud JobState' },
            { name: 'Ranks', type: 'string', jsonPath: '.status.ranks', description: 'Ranks running / desired' },
            {
              name: 'Reported',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Reported")].status',
              description: 'True once UCloud/Core has every update',
            },
            { name: 'Product', type: 'string', jsonPath: '.spec.product.id', priority: 1, description: 'Machine type' },
            // A string, not a date: kubectl renders a future date as <invalid>, and this is empty once
            // the job has ended (status.runsUntil; expiresAt keeps the record).
            {
              name: 'Expires',
              type: 'string',
              jsonPath: '.status.runsUntil',
              priority: 1,
              description: "When the running job's time allocation ends (RFC 3339)",
            },
            { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1, description: 'Why the job is in its state' },
            {
              name: 'Refused',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="ChildrenCreated")].message',
              priority: 1,
              description: "Why the apiserver refuses one of the job's pods or objects, while it does",
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A UCloud job run by ucloud-operator: one pod per rank, rank files in /etc/ucloud, state reported to UCloud/Core.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { ...spec, description: 'What UCloud/Core asked for, as the adapter translated it.' },
                status: { ...status, description: 'What the reconciler observed and reported.' },
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The fields that identify and bill a job may not change after create: UCloud/Core's id, the owner
 * who is charged, what runs and on how much. `kubectl edit` of any of them is refused by the
 * apiserver (CEL transition rules: evaluated on update only). The adapter only ever changes
 * timeAllocationMillis (extend) and terminationRequestedAt (terminate).
 */
const IMMUTABLE = ['jobId', 'owner', 'application', 'product', 'replicas'] as const;

function immutable(spec: Json): void {
  const props = spec.properties as Record<string, Json>;
  for (const field of IMMUTABLE) {
    const prop = props[field];
    if (!prop) throw new Error(`immutable field ${field} is not in the spec schema`);
    prop['x-kubernetes-validations'] = [{ rule: 'self == oldSelf', message: `${field} is immutable: it identifies and bills the job at UCloud/Core` }];
  }
  spec['x-kubernetes-validations'] = [
    {
      rule: '!has(oldSelf.ucloudCreatedAt) || (has(self.ucloudCreatedAt) && self.ucloudCreatedAt == oldSelf.ucloudCreatedAt)',
      message: 'ucloudCreatedAt is immutable',
    },
    { rule: '!has(oldSelf.terminationRequestedAt) || has(self.terminationRequestedAt)', message: 'terminationRequestedAt cannot be withdrawn once set' },
  ];
}

export const CRD_PATH = 'crds/ucloudjobs.ucloud.dk.yaml';

export function renderCrdYaml(): string {
  return (
    '# Generated from src/api/v1alpha1/ucloudjob.ts by `npm run gen:crd`. Do not edit by hand.\n' +
    // js-yaml itself, not client-node's dumpYaml: that one serialises through the generated
    // V1CustomResourceDefinition model, which silently drops every x-kubernetes-* key it spells
    // otherwise (list-map keys, CEL rules).
    dump(buildCrd(), { noRefs: true, lineWidth: 120 })
  );
}

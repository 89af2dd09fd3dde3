// Kueue's Workload and ResourceFlavor (kueue.x-k8s.io/v1beta2, the storage version of Kueue
// v0.17: config/components/crd/bases/kueue.x-k8s.io_workloads.yaml serves v1beta1 and v1beta2 and
// stores v1beta2): the part of the wire types the operator writes and reads, one zod schema each.
// Upstream's Go types: sigs.k8s.io/kueue apis/kueue/v1beta2 workload_types.go (Workload,
// WorkloadSpec, PodSet, Admission, PodSetAssignment, AdmissionCheckState.podSetUpdates) and
// resourceflavor_types.go (ResourceFlavorSpec.nodeLabels, nodeTaints, tolerations). Plain JSON
// through the custom-objects API, as PodGroups are.
import { z } from 'zod';
import { ObjectMetaSchema, OwnerReferenceSchema } from '../v1alpha1/ucloudjob.js';

export const KUEUE_GROUP = 'kueue.x-k8s.io';
export const KUEUE_VERSION = 'v1beta2';
export const WORKLOAD_PLURAL = 'workloads';
export const RESOURCE_FLAVOR_PLURAL = 'resourceflavors';
export const KUEUE_API_VERSION = `${KUEUE_GROUP}/${KUEUE_VERSION}`;

const ConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.union([z.string(), z.date()]).optional(),
  observedGeneration: z.number().optional(),
});
export type KueueCondition = z.infer<typeof ConditionSchema>;

const TolerationSchema = z.object({
  key: z.string().optional(),
  operator: z.string().optional(),
  value: z.string().optional(),
  effect: z.string().optional(),
  tolerationSeconds: z.number().optional(),
});

const PodSetSchema = z.object({
  /** A DNS label; Kueue's own integrations name a single pod set "main". */
  name: z.string(),
  count: z.number().int().min(1),
  /** A pod template; Kueue reads the containers' requests, nodeSelector, tolerations and overhead. */
  template: z.object({ spec: z.record(z.string(), z.unknown()) }).passthrough(),
});

export const PodSetAssignmentSchema = z.object({
  name: z.string(),
  /** Resource name → ResourceFlavor name. */
  flavors: z.record(z.string(), z.string()).optional(),
  count: z.number().optional(),
});

const PodSetUpdateSchema = z.object({
  name: z.string(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(TolerationSchema).optional(),
});

export const WorkloadSchema = z.object({
  apiVersion: z.literal(KUEUE_API_VERSION),
  kind: z.literal('Workload'),
  metadata: ObjectMetaSchema.extend({ ownerReferences: z.array(OwnerReferenceSchema).optional() }),
  spec: z.object({
    queueName: z.string(),
    podSets: z.array(PodSetSchema).min(1),
  }),
  status: z
    .object({
      conditions: z.array(ConditionSchema).optional(),
      admission: z.object({ clusterQueue: z.string(), podSetAssignments: z.array(PodSetAssignmentSchema) }).optional(),
      admissionChecks: z.array(z.object({ name: z.string(), podSetUpdates: z.array(PodSetUpdateSchema).optional() })).optional(),
    })
    .optional(),
});
export type Workload = z.infer<typeof WorkloadSchema>;

export const ResourceFlavorSchema = z.object({
  metadata: ObjectMetaSchema,
  spec: z
    .object({
      nodeLabels: z.record(z.string(), z.string()).optional(),
      /** Kueue adds tolerations for a flavor's taints to the pods it admits: so does the operator. */
      tolerations: z.array(TolerationSchema).optional(),
    })
    .optional(),
});
export type ResourceFlavor = z.infer<typeof ResourceFlavorSchema>;

/** Workload condition types (workload_types.go). */
export const WorkloadCondition = {
  QuotaReserved: 'QuotaReserved',
  Admitted: 'Admitted',
  Finished: 'Finished',
  Evicted: 'Evicted',
} as const;

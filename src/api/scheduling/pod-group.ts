// Kubernetes' PodGroup (scheduling.k8s.io/v1alpha2, Kubernetes 1.36, feature gate GenericWorkload):
// the part of the wire type the operator writes and reads, as one zod schema. Upstream's Go type is
// k8s.io/api/scheduling/v1alpha2 types.go (PodGroup, PodGroupSpec, GangSchedulingPolicy); client-node
// 2.0 has no model for v1alpha2, so PodGroups travel as plain JSON through the custom-objects API.
import { z } from 'zod';
import { ObjectMetaSchema, OwnerReferenceSchema } from '../v1alpha1/ucloudjob.js';

export const POD_GROUP_GROUP = 'scheduling.k8s.io';
export const POD_GROUP_VERSION = 'v1alpha2';
export const POD_GROUP_PLURAL = 'podgroups';
export const POD_GROUP_API_VERSION = `${POD_GROUP_GROUP}/${POD_GROUP_VERSION}`;

/** Exactly one of basic and gang (a union in upstream's validation). minCount ≥ 1. */
export const PodGroupSchedulingPolicySchema = z.union([
  z.object({ gang: z.object({ minCount: z.number().int().min(1) }) }).strict(),
  z.object({ basic: z.object({}).strict() }).strict(),
]);

export const PodGroupConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.union([z.string(), z.date()]).optional(),
});

export const PodGroupSchema = z.object({
  apiVersion: z.literal(POD_GROUP_API_VERSION),
  kind: z.literal('PodGroup'),
  metadata: ObjectMetaSchema.extend({ ownerReferences: z.array(OwnerReferenceSchema).optional() }),
  spec: z.object({
    // Immutable upstream: a PodGroup is replaced, never edited.
    schedulingPolicy: PodGroupSchedulingPolicySchema,
  }),
  status: z.object({ conditions: z.array(PodGroupConditionSchema).optional() }).optional(),
});
export type PodGroup = z.infer<typeof PodGroupSchema>;

/** The scheduler's verdict on a gang (upstream condition PodGroupScheduled, reason Unschedulable). */
export const POD_GROUP_SCHEDULED = 'PodGroupScheduled';

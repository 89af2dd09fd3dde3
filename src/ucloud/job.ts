// Wire schemas for what UCloud/Core sends the provider: the Job and the pieces of it the operator
// uses. Unknown keys are stripped (we never echo them back), but every key we read is validated,
// so a malformed Job is a 400 naming the field, never a crash deep in the reconciler.
import { z } from 'zod';

const LIMITS = { id: 256, text: 64 * 1024, name: 256, list: 1000, path: 4096, template: 256 * 1024 } as const;

export const SimpleDurationSchema = z.object({
  hours: z.number().int().min(0).max(1_000_000),
  minutes: z.number().int().min(0).max(1_000_000),
  seconds: z.number().int().min(0).max(1_000_000),
});
export type SimpleDuration = z.infer<typeof SimpleDurationSchema>;

export function durationToMillis(d: SimpleDuration): number {
  return ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000;
}

export const NameAndVersionSchema = z.object({
  name: z.string().min(1).max(LIMITS.name),
  version: z.string().min(1).max(LIMITS.name),
});

export const ProductReferenceSchema = z.object({
  id: z.string().min(1).max(LIMITS.name),
  category: z.string().min(1).max(LIMITS.name),
  provider: z.string().min(1).max(LIMITS.name),
});
export type ProductReference = z.infer<typeof ProductReferenceSchema>;

export const ResourceOwnerSchema = z.object({
  createdBy: z.string().min(1).max(LIMITS.name),
  project: z.string().max(LIMITS.name).nullish(),
});

// --- Parameter values (JobSpecification.parameters and .resources) ---------------------------
const str = z.string().max(LIMITS.text);
export const AppParameterValueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), path: z.string().min(1).max(LIMITS.path), readOnly: z.boolean().nullish() }),
  z.object({ type: z.literal('boolean'), value: z.boolean() }),
  z.object({ type: z.literal('text'), value: str }),
  z.object({ type: z.literal('textarea'), value: str }),
  z.object({ type: z.literal('enumeration'), value: str }),
  z.object({ type: z.literal('integer'), value: z.number().int() }),
  z.object({ type: z.literal('floating_point'), value: z.number().finite() }),
  z.object({ type: z.literal('peer'), hostname: z.string().min(1).max(63), jobId: z.string().min(1).max(LIMITS.id) }),
  z.object({ type: z.literal('license_server'), id: z.string().max(LIMITS.id) }),
  z.object({ type: z.literal('block_storage'), id: z.string().max(LIMITS.id) }),
  z.object({ type: z.literal('network'), id: z.string().max(LIMITS.id) }),
  z.object({ type: z.literal('ingress'), id: z.string().max(LIMITS.id) }),
  z.object({ type: z.literal('private_network'), id: z.string().max(LIMITS.id) }),
  // A workflow carries job-template text and extra inputs (shared/pkg/orchestrators/workflows.go
  // WorkflowSpecification); IM2 appends `job` to a jinja invocation and binds `inputs` as parameters.
  z.object({
    type: z.literal('workflow'),
    specification: z
      .object({
        job: z.string().max(LIMITS.template).nullish(),
        inputs: z.array(z.lazy(() => ApplicationParameterSchema)).max(LIMITS.list).nullish(),
      })
      .nullish(),
  }),
  z.object({ type: z.literal('modules') }),
  z.object({ type: z.literal('api_server') }),
]);
export type AppParameterValue = z.infer<typeof AppParameterValueSchema>;

// --- Application (status.resolvedApplication) ------------------------------------------------
const optStr = z.string().max(LIMITS.text).nullish();

export const InvocationParameterSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('word'), word: z.string().max(LIMITS.text) }),
  z.object({
    type: z.literal('var'),
    variableNames: z.array(z.string().max(LIMITS.name)).max(LIMITS.list),
    prefixGlobal: optStr,
    suffixGlobal: optStr,
    prefixVariable: optStr,
    suffixVariable: optStr,
    isPrefixVariablePartOfArg: z.boolean().nullish(),
    isSuffixVariablePartOfArg: z.boolean().nullish(),
  }),
  z.object({ type: z.literal('bool_flag'), variableName: z.string().max(LIMITS.name), flag: z.string().max(LIMITS.text) }),
  z.object({ type: z.literal('env'), variable: z.string().max(LIMITS.name) }),
  // core2's v2 (YAML) applications: the whole invocation is one Jinja template
  // (core2/pkg/orchestrator/app_yaml.go, A2Yaml.Normalize; InvocationParameterJinja).
  z.object({ type: z.literal('jinja'), template: z.string().max(LIMITS.template) }),
]);
export type InvocationParameter = z.infer<typeof InvocationParameterSchema>;

export const ApplicationParameterSchema = z.object({
  type: z.enum([
    'input_file',
    'input_directory',
    'text',
    'textarea',
    'integer',
    'floating_point',
    'boolean',
    'enumeration',
    'peer',
    'license_server',
    'ingress',
    'network_ip',
  ]),
  name: z.string().min(1).max(LIMITS.name),
  optional: z.boolean().nullish(),
  defaultValue: z.unknown().optional(),
  title: optStr,
  description: optStr,
  trueValue: optStr,
  falseValue: optStr,
  options: z
    .array(z.object({ name: z.string().max(LIMITS.text), value: z.string().max(LIMITS.text) }))
    .max(LIMITS.list)
    .nullish(),
});
export type ApplicationParameter = z.infer<typeof ApplicationParameterSchema>;

export const ToolSchema = z.object({
  name: z.string().max(LIMITS.name).nullish(),
  version: z.string().max(LIMITS.name).nullish(),
  tool: z
    .object({
      description: z.object({
        backend: z.string().max(64).nullish(),
        image: z.string().max(1024).nullish(),
        container: z.string().max(1024).nullish(),
      }),
    })
    .nullish(),
});

export const ApplicationInvocationSchema = z.object({
  tool: ToolSchema,
  invocation: z.array(InvocationParameterSchema).max(LIMITS.list),
  parameters: z.array(ApplicationParameterSchema).max(LIMITS.list),
  environment: z.record(z.string().max(LIMITS.name), InvocationParameterSchema).nullish(),
  applicationType: z.string().max(64).nullish(),
  web: z.object({ port: z.number().int().min(1).max(65535).nullish() }).nullish(),
  vnc: z.object({ port: z.number().int().min(1).max(65535).nullish(), password: optStr }).nullish(),
  ssh: z.object({ mode: z.enum(['DISABLED', 'OPTIONAL', 'MANDATORY']).nullish() }).nullish(),
  container: z
    .object({
      changeWorkingDirectory: z.boolean().nullish(),
      runAsRoot: z.boolean().nullish(),
      runAsRealUser: z.boolean().nullish(),
    })
    .nullish(),
  allowMultiNode: z.boolean().nullish(),
});
export type ApplicationInvocation = z.infer<typeof ApplicationInvocationSchema>;

export const ApplicationSchema = z.object({
  metadata: z.object({
    name: z.string().max(LIMITS.name),
    version: z.string().max(LIMITS.name),
    title: optStr,
  }),
  invocation: ApplicationInvocationSchema,
});
export type Application = z.infer<typeof ApplicationSchema>;

// --- Product (status.resolvedProduct) --------------------------------------------------------
export const ProductPriceUnitSchema = z.enum([
  'PER_UNIT',
  'CREDITS_PER_MINUTE',
  'CREDITS_PER_HOUR',
  'CREDITS_PER_DAY',
  'UNITS_PER_MINUTE',
  'UNITS_PER_HOUR',
  'UNITS_PER_DAY',
]);
export type ProductPriceUnit = z.infer<typeof ProductPriceUnitSchema>;

export const ComputeProductSchema = z.object({
  name: z.string().max(LIMITS.name),
  id: z.string().max(LIMITS.name).nullish(),
  category: z.object({ name: z.string().max(LIMITS.name), provider: z.string().max(LIMITS.name) }),
  cpu: z.number().int().min(0).max(100_000).nullish(),
  memoryInGigs: z.number().int().min(0).max(1_000_000).nullish(),
  gpu: z.number().int().min(0).max(1_000).nullish(),
  unitOfPrice: ProductPriceUnitSchema.nullish(),
  pricePerUnit: z.number().nullish(),
});
export type ComputeProduct = z.infer<typeof ComputeProductSchema>;

// --- Job -------------------------------------------------------------------------------------
export const JobStateSchema = z.enum(['IN_QUEUE', 'RUNNING', 'CANCELING', 'SUCCESS', 'FAILURE', 'EXPIRED', 'SUSPENDED']);
export type JobState = z.infer<typeof JobStateSchema>;

export const JobSpecificationSchema = z.object({
  application: NameAndVersionSchema,
  product: ProductReferenceSchema,
  name: z.string().max(LIMITS.name).nullish(),
  replicas: z.number().int().min(1).max(1000).nullish(),
  allowDuplicateJob: z.boolean().nullish(),
  parameters: z.record(z.string().max(LIMITS.name), AppParameterValueSchema).nullish(),
  resources: z.array(AppParameterValueSchema).max(LIMITS.list).nullish(),
  timeAllocation: SimpleDurationSchema.nullish(),
  openedFile: z.string().max(LIMITS.path).nullish(),
  restartOnExit: z.boolean().nullish(),
  sshEnabled: z.boolean().nullish(),
});
export type JobSpecification = z.infer<typeof JobSpecificationSchema>;

export const JobStatusSchema = z.object({
  state: JobStateSchema.nullish(),
  startedAt: z.number().nullish(),
  expiresAt: z.number().nullish(),
  resolvedApplication: ApplicationSchema.nullish(),
  resolvedProduct: ComputeProductSchema.nullish(),
  allowRestart: z.boolean().nullish(),
});

export const JobSchema = z.object({
  id: z.string().min(1).max(LIMITS.id),
  owner: ResourceOwnerSchema,
  specification: JobSpecificationSchema,
  status: JobStatusSchema.nullish(),
  createdAt: z.number().nullish(),
  providerGeneratedId: z.string().max(LIMITS.id).nullish(),
});
export type Job = z.infer<typeof JobSchema>;

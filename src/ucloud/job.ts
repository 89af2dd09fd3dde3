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
// core2 marshals Go's AppParameterValue (shared/pkg/orchestrators/applications.go), which has no
// omitempty: every value carries every field (path, mountPath, readOnly, value, hostname, jobId,
// id, specification, modules, port, tls, server, token, tokenType), "", 0, false or null where
// unused. Each variant reads only the fields of its type; the rest is stripped unread.
const str = z.string().max(LIMITS.text);
export const AppParameterValueSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('file'),
    path: z.string().min(1).max(LIMITS.path),
    readOnly: z.boolean().nullish(),
    // Where the file or folder appears in the job ("" = the default under /work); core2 checks it
    // with ValidateExplicitFileMountPaths, the translation checks it again (storage-paths.ts).
    mountPath: z.string().max(LIMITS.path).nullish(),
  }),
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
        inputs: z
          .array(z.lazy(() => ApplicationParameterSchema))
          .max(LIMITS.list)
          .nullish(),
      })
      .nullish(),
  }),
  z.object({ type: z.literal('modules'), modules: z.array(z.string().max(LIMITS.name)).max(LIMITS.list).nullish() }),
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
  // ApplicationParameterType (shared/pkg/orchestrators/applications.go), core2's v2 types included.
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
    'workflow',
    'readme',
    'modules',
    'private_network',
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

// A Go nil slice is marshalled as null (ApplicationInvocationDescription has no omitempty).
const listOrNull = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .max(LIMITS.list)
    .nullish()
    .transform((v) => v ?? []);

// Port 0 is Go's zero value: core2's legacy YAML (app_yaml_legacy.go) copies a web/vnc section
// without a port as 0, and a v2 VNC section without one also becomes 0 (app_yaml.go). The
// translation gives such an application UCloud's default port (job-to-spec.ts).
const portOrZero = z.number().int().min(0).max(65535).nullish();

export const ApplicationInvocationSchema = z.object({
  tool: ToolSchema,
  invocation: listOrNull(InvocationParameterSchema),
  parameters: listOrNull(ApplicationParameterSchema),
  environment: z.record(z.string().max(LIMITS.name), InvocationParameterSchema).nullish(),
  applicationType: z.string().max(64).nullish(),
  web: z.object({ port: portOrZero }).nullish(),
  vnc: z.object({ port: portOrZero, password: optStr }).nullish(),
  // core2 reads the mode with EnumOrDefault(..., DISABLED) (job.go jobsValidateForSubmission), so
  // an empty or unknown mode is DISABLED, not an error (sessions/ssh.ts normalises it).
  ssh: z.object({ mode: z.string().max(64).nullish() }).nullish(),
  container: z
    .object({
      changeWorkingDirectory: z.boolean().nullish(),
      runAsRoot: z.boolean().nullish(),
      runAsRealUser: z.boolean().nullish(),
    })
    .nullish(),
  allowMultiNode: z.boolean().nullish(),
  // ModulesSection (shared/pkg/orchestrators/applications.go): where the application expects its
  // optional software modules, which IM2 mounts from the site's module volumes (containers/modules.go).
  modules: z.object({ mountPath: z.string().max(LIMITS.path), optional: listOrNull(z.string().max(LIMITS.name)) }).nullish(),
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

// core2's ProductCategory.accountingFrequency (shared/pkg/accounting/products.go): the period the
// price is per, which is what chargeCredits' `periods` count. Omitted (omitempty) by a Core that
// does not know it; an unknown value is treated the same way (the configured unitOfPrice decides).
export const ACCOUNTING_FREQUENCIES = ['ONCE', 'PERIODIC_MINUTE', 'PERIODIC_HOUR', 'PERIODIC_DAY'] as const;
export type AccountingFrequency = (typeof ACCOUNTING_FREQUENCIES)[number];

export const ComputeProductSchema = z.object({
  name: z.string().max(LIMITS.name),
  id: z.string().max(LIMITS.name).nullish(),
  category: z.object({
    name: z.string().max(LIMITS.name),
    provider: z.string().max(LIMITS.name),
    accountingFrequency: z.string().max(64).nullish(),
  }),
  cpu: z.number().int().min(0).max(100_000).nullish(),
  memoryInGigs: z.number().int().min(0).max(1_000_000).nullish(),
  gpu: z.number().int().min(0).max(1_000).nullish(),
  // Shown to jinja templates as ucloud.machine.*Model (IM2's handleJinjaInvocation).
  cpuModel: z.string().max(LIMITS.name).nullish(),
  memoryModel: z.string().max(LIMITS.name).nullish(),
  gpuModel: z.string().max(LIMITS.name).nullish(),
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
  // ResourceSpecification.labels (shared/pkg/orchestrators/resource.go); ucloud.dk/init-script is read.
  labels: z.record(z.string().max(LIMITS.name), z.string().max(LIMITS.path)).nullish(),
  restartOnExit: z.boolean().nullish(),
  sshEnabled: z.boolean().nullish(),
});
export type JobSpecification = z.infer<typeof JobSpecificationSchema>;

// What core2 puts in status.jobParametersJson (ExportedParameters, provider-integration/shared/pkg/
// orchestrators/jobs.go; filled at submit in core2/pkg/orchestrator/job.go). IM2 writes it as is to
// JobParameters.json when siteVersion is not 0 (.../k8s/containers/job_builder.go): kept whole
// (loose), only siteVersion is read.
export const ExportedParametersSchema = z.looseObject({ siteVersion: z.number().int().nullish() });

export const JobStatusSchema = z.object({
  state: JobStateSchema.nullish(),
  jobParametersJson: ExportedParametersSchema.nullish(),
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

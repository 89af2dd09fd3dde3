// What the CRD schema cannot say: a UCloudJob can match the schema and still be impossible to run
// here, e.g. one written with kubectl that names a product this provider does not offer, an image
// the apiserver would refuse, a subPath that escapes the shared storage, or a date that does not
// parse (the planner's arithmetic would throw on every reconcile). The reconciler refuses such a
// job before creating anything, with an InvalidSpec condition and a Warning Event, instead of
// failing the same apiserver call (or the same exception) forever.
import type { UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
// Kubernetes >= 1.34 takes any printable ASCII but '=' in an env var name.
const ENV_NAME = /^[\x21-\x3c\x3e-\x7e]+$/;
// No whitespace or control characters anywhere: the apiserver refuses leading/trailing blanks,
// the container runtime every other one.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const IMAGE = /^[^\s\x00-\x1f\x7f]+$/;

function badDate(v: string | undefined): boolean {
  return v !== undefined && !Number.isFinite(Date.parse(v));
}

function escapes(subPath: string): boolean {
  return subPath.startsWith('/') || subPath.split('/').includes('..');
}

/** Problems that keep the job from running here, each naming its field; empty when it can run. */
export function specProblems(job: UCloudJob, config: OperatorConfig): string[] {
  const { spec, status } = job;
  const out: string[] = [];
  // Products are checked only before the job starts: a running job keeps running when the
  // operator's configuration drops its product later.
  if (!status?.startedAt) {
    const p = spec.product;
    const offered = config.products.find((c) => c.id === p.id && c.category === p.category);
    if (!offered) out.push(`spec.product: ${p.id} (${p.category}) is not a product this provider offers`);
    else if (offered.cpu !== p.cpu || offered.memoryInGigs !== p.memoryInGigs || offered.gpu !== p.gpu) {
      out.push(
        `spec.product: ${p.id} asks for ${p.cpu} cpu, ${p.memoryInGigs} GiB, ${p.gpu} gpu; the product is ` +
          `${offered.cpu} cpu, ${offered.memoryInGigs} GiB, ${offered.gpu} gpu`,
      );
    }
  }
  if (spec.command.length === 0) out.push('spec.command: empty');
  // A jinja job's init container needs the renderer image (invocation-init.ts, docs/adr/0012).
  if (spec.invocationTemplate && !config.jobs.invocationRenderer.image) {
    out.push('spec.invocationTemplate: no jobs.invocationRenderer.image is configured to render it');
  }
  if (!IMAGE.test(spec.image)) out.push('spec.image: not a container image reference (contains blanks or control characters)');
  spec.env.forEach((e, i) => {
    if (!ENV_NAME.test(e.name)) out.push(`spec.env[${i}].name: not a valid environment variable name`);
  });
  if (spec.mounts.length && !config.jobs.sharedStorage) out.push('spec.mounts: files are mounted but no jobs.sharedStorage is configured');
  if (config.jobs.sharedStorage?.perDriveClaim) {
    for (const m of spec.mounts) {
      const drive = m.subPath.split('/')[0] ?? '';
      // The drive becomes part of a PVC name (a DNS subdomain).
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(drive)) out.push(`spec.mounts: drive "${drive.slice(0, 64)}" cannot name a per-drive volume`);
    }
  }
  spec.mounts.forEach((m, i) => {
    if (escapes(m.subPath)) out.push(`spec.mounts[${i}].subPath: must be relative and must not contain ".."`);
    if (!m.mountPath.startsWith('/')) out.push(`spec.mounts[${i}].mountPath: must be absolute`);
  });
  if (spec.jobFolder) {
    if (escapes(spec.jobFolder.subPath)) out.push('spec.jobFolder.subPath: must be relative and must not contain ".."');
    if (!DNS_SUBDOMAIN.test(spec.jobFolder.claimName)) out.push('spec.jobFolder.claimName: not a PersistentVolumeClaim name');
  }
  spec.peers.forEach((p, i) => {
    if (!DNS_LABEL.test(p.hostname)) out.push(`spec.peers[${i}].hostname: not a DNS label`);
  });
  if (badDate(spec.terminationRequestedAt)) out.push('spec.terminationRequestedAt: not a date');
  for (const f of ['startedAt', 'expiresAt', 'finishedAt'] as const) if (badDate(status?.[f])) out.push(`status.${f}: not a date`);
  return out;
}

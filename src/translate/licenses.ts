// License parameters as IM2 passes them to a job (containers/invocation.go converts every
// license_server value before rendering): not the license's id but its server,
// `<address>:<port>/<license>`, built by LicenseBuildParameter (im2/pkg/controller/
// license_database.go) from the site's entry for the license's product. Pure: the adapter looks
// each license's product up at UCloud/Core first (CoreFacts.licenseProducts).
import type { OperatorConfig } from '../config.js';
import type { Job } from '../ucloud/job.js';

type LicenseServer = OperatorConfig['licenses'][number];

/** IM2's format: an unset address or port is the word "null"; "/<license>" only when a key is set. */
export function licenseString(server: Omit<LicenseServer, 'product'>): string {
  return `${server.address ?? 'null'}:${server.port ?? 'null'}${server.license !== undefined ? `/${server.license}` : ''}`;
}

/** Ids of the licenses the job's parameters name. */
export function licenseIds(job: Job): string[] {
  return [...new Set(Object.values(job.specification.parameters ?? {}).flatMap((v) => (v.type === 'license_server' ? [v.id] : [])))];
}

/**
 * The job with each license parameter's id replaced by its server string. A license whose product
 * is unknown, or that the site has no server for, keeps its id (IM2 logs and does the same).
 */
export function withLicenseServers(job: Job, products: ReadonlyMap<string, string> | undefined, config: OperatorConfig): Job {
  const parameters = job.specification.parameters;
  if (!parameters || !Object.values(parameters).some((v) => v.type === 'license_server')) return job;
  const converted = Object.fromEntries(
    Object.entries(parameters).map(([name, v]) => {
      if (v.type !== 'license_server') return [name, v];
      const product = products?.get(v.id);
      const server = product === undefined ? undefined : config.licenses.find((l) => l.product === product);
      return [name, server ? { ...v, id: licenseString(server) } : v];
    }),
  );
  return { ...job, specification: { ...job.specification, parameters: converted } };
}

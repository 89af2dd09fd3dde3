// The jinja fixtures (test/fixtures/jinja/): Go-shaped v2 jobs and, beside each, what IM2's own
// pipeline produced for it (<name>.im2/: template.j2, values.json, script-<rank>.sh), and the
// gonja cases. How the expected outputs were made: docs/adr/0012-jinja-invocations.md.
import { readdirSync, readFileSync } from 'node:fs';
import { parseConfig, type OperatorConfig } from '../../src/config.js';
import { JobSchema, type Job } from '../../src/ucloud/job.js';

const DIR = new URL('../fixtures/jinja/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, DIR), 'utf8');

export const JINJA_JOBS: string[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.job.json'))
  .map((f) => f.slice(0, -'.job.json'.length))
  .sort();

export const jinjaJob = (name: string): Job => JobSchema.parse(JSON.parse(read(`${name}.job.json`)));
export const jinjaJobJson = (name: string): Record<string, unknown> => JSON.parse(read(`${name}.job.json`));

export interface Im2Output {
  template: string;
  values: Record<string, unknown>;
  scripts: string[];
}
export function im2Output(name: string, ranks: number): Im2Output {
  return {
    template: read(`${name}.im2/template.j2`),
    values: JSON.parse(read(`${name}.im2/values.json`)),
    scripts: Array.from({ length: ranks }, (_, r) => read(`${name}.im2/script-${r}.sh`)),
  };
}

export interface GonjaCase {
  name: string;
  source: string;
  template: string;
  context: Record<string, unknown>;
  expected: { output: string } | { error: true };
  knownDifference?: string;
}
export const gonjaCases = (): GonjaCase[] => JSON.parse(read('gonja-cases.json')).cases;

/** The configuration the fixtures were produced with: v2 apps ask for root, files come from a shared PVC. */
export function jinjaConfig(overrides: Record<string, unknown> = {}): OperatorConfig {
  return parseConfig({
    providerId: 'example',
    namespace: 'ucloud-jobs',
    ucloud: { coreUrl: 'http://127.0.0.1:1', publicKey: 'unused-in-this-test', refreshToken: 'unused-in-this-test' },
    products: [{ id: 'example-compute-8', category: 'example-compute', cpu: 8, memoryInGigs: 16 }],
    jobs: { allowRunAsRoot: true, sharedStorage: { claimName: 'ucloud-files' }, invocationRenderer: { image: 'ucloud-operator:test' } },
    ...overrides,
  });
}

// The one loader of the JSON fixtures in test/fixtures/ (for tests and benchmarks): the spec's
// example payloads, and the jobs core2 sends, built with UCloud's own Go types
// (test/fixtures/README.md says how and from which commit). Jobs built from them:
// test/support/job-factory.ts. The jinja fixtures' directories: test/support/jinja-fixtures.ts.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { JobSchema, type Job } from '../../src/ucloud/job.js';

const Bulk = z.object({ items: z.array(JobSchema) });

// Beside test/support/ in the source tree; the benchmarks run this file compiled, one directory
// below the root (.bench-build/test/support/), where the JSON files are not copied.
const DIR = [new URL('../fixtures/', import.meta.url), new URL('../../../test/fixtures/', import.meta.url)].find((u) => existsSync(u))!;

/** The spec's "Simple batch Job" create body. */
export const SIMPLE_BATCH = 'create-simple-batch.json';
/** A 3-rank create body with file parameters. */
export const MULTI_RANK = 'multi-rank-job.json';
/** core2's create body for a job of a legacy (A1 YAML) application. */
export const CORE2_LEGACY = 'core2-legacy-app-job.json';
/** core2's create body for a job of a v2 application: one jinja invocation part. */
export const CORE2_V2 = 'core2-v2-jinja-app-job.json';

/** A fresh copy of a fixture file (callers may change it). */
export function fixtureJson(name: string): { items: Array<Record<string, unknown>> } {
  return JSON.parse(readFileSync(new URL(name, DIR), 'utf8'));
}

export function fixtureJob(name: string): Job {
  return Bulk.parse(fixtureJson(name)).items[0]!;
}

/**
 * A core2 fixture's create body for another job id (and product, when given), still exactly in
 * core2's shape: every occurrence of the id is the Resource's own.
 */
export function core2CreateBody(name: string, id: string, product?: { id: string; category: string }): { items: Array<Record<string, unknown>> } {
  const body = fixtureJson(name);
  const item = body.items[0] as { id: string; specification: { product: { id: string; category: string } } };
  item.id = id;
  if (product) Object.assign(item.specification.product, product);
  return body;
}

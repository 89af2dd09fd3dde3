// Loads the JSON fixtures (the spec's example payloads) for tests.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { JobSchema, type Job } from '../../src/ucloud/job.js';

const Bulk = z.object({ items: z.array(JobSchema) });

export function fixtureJson(name: string): { items: Array<Record<string, unknown>> } {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}

export function fixtureJob(name: string): Job {
  return Bulk.parse(fixtureJson(name)).items[0]!;
}

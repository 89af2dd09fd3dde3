// Hostile input against every adapter endpoint: malformed, oversized, deeply nested and
// type-confused bodies, raw non-JSON, unknown paths and forged tokens. Every input the route's
// schema refuses must get a 4xx with a `why`, and nothing may be written (FakeKube's write log);
// the server must keep answering and its heap stay bounded. A short run is part of `npm test`;
// `npm run chaos` runs it with FUZZ_RUNS large (>= 10,000 inputs in total).
import fc from 'fast-check';
import type { z } from 'zod';
import {
  CreateBulkSchema,
  DynamicParametersSchema,
  ExtendBulkSchema,
  FindByUserSchema,
  InitSchema,
  InteractiveSessionBulkSchema,
  JobRefBulkSchema,
  SuspendBulkSchema,
  UpdateAclBulkSchema,
} from '../../../src/adapter/schemas.js';
import { jobsPath, makeKeys, NS, PROVIDER, startAdapter, type Harness, type Keys, type Reply } from '../adapter/support.js';
import { GET_ROUTES, POST_ROUTES, RUNS, SEED, baseBody, forgedTokens, mutatedBody, rawBody, tally, validJob, wildBody } from './fuzz-support.js';

const SCHEMAS: Record<string, z.ZodType> = {
  create: CreateBulkSchema,
  terminate: JobRefBulkSchema,
  verify: JobRefBulkSchema,
  extend: ExtendBulkSchema,
  suspend: SuspendBulkSchema,
  unsuspend: SuspendBulkSchema,
  updateAcl: UpdateAclBulkSchema,
  interactiveSession: InteractiveSessionBulkSchema,
  init: InitSchema,
  integrationInit: InitSchema,
  integrationConnect: FindByUserSchema,
  integrationUnlinked: FindByUserSchema,
  requestDynamicParameters: DynamicParametersSchema,
};

/** POST routes whose body is not a BulkRequest. */
const NOT_BULK = new Set(['init', 'integrationInit', 'integrationConnect', 'integrationUnlinked', 'requestDynamicParameters']);

let keys: Keys;
let other: Keys;
let h: Harness;
let heapBefore = 0;
const unexpected: string[] = [];

beforeAll(async () => {
  [keys, other] = await Promise.all([makeKeys(), makeKeys()]);
  h = await startAdapter(keys);
  heapBefore = process.memoryUsage().heapUsed;
});
afterAll(async () => {
  await h?.close();
  const heapAfter = process.memoryUsage().heapUsed;
  process.stdout.write(
    `adapter fuzz (seed ${SEED}, ${RUNS} runs/property): ${tally.inputs} inputs, ${tally.rejected4xx} refused with 4xx+why, ` +
      `${tally.acceptedValid} schema-valid accepted, ${tally.forgedTokens} forged tokens, ${tally.rawBodies} raw bodies, ` +
      `${tally.oversized} oversized, ${tally.deep} deeply nested; heap ${(heapBefore / 2 ** 20).toFixed(0)} -> ${(heapAfter / 2 ** 20).toFixed(0)} MiB\n`,
  );
});

// Time per test: generous, it scales with FUZZ_RUNS (a full run is several minutes).
const T = 60_000 + RUNS * 200;
const params = (runs = RUNS) => ({ numRuns: runs, seed: SEED, endOnFailure: true });
const url = (path: string) => `/ucloud/${PROVIDER}${path}`;

/** Calls and checks the universal rule; returns the reply for more checks. */
async function send(method: string, path: string, body: unknown, opts: { raw?: string; token?: string | null; headers?: Record<string, string> } = {}) {
  const before = h.kube.writes().length;
  const reply = await h.call(method, path, body, opts);
  tally.inputs++;
  return { reply, wrote: h.kube.writes().length - before };
}

function expectRefused(reply: Reply, wrote: number, what: string): void {
  if (reply.status < 400 || reply.status >= 500 || typeof reply.body?.why !== 'string' || !reply.body.why || wrote !== 0) {
    unexpected.push(`${what}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)} wrote=${wrote}`);
  }
  expect(reply.status).toBeGreaterThanOrEqual(400);
  expect(reply.status).toBeLessThan(500);
  expect(typeof reply.body?.why).toBe('string');
  expect(reply.body.why.length).toBeGreaterThan(0);
  expect(wrote).toBe(0);
  tally.rejected4xx++;
}

/** A schema-valid body may be accepted, but never with a 5xx; any job it made is removed again. */
async function afterValid(reply: Reply, wrote: number, call: string): Promise<void> {
  expect(reply.status).toBeLessThan(500);
  if (reply.status >= 400) expect(typeof reply.body?.why).toBe('string');
  if (call !== 'create') expect(wrote).toBe(0);
  tally.acceptedValid++;
  await clean();
}

/** Removes jobs an accepted create made (outside the measured window of any call). */
async function clean(): Promise<void> {
  for (const j of (await h.kube.ucloudJobs.list(NS)).items as Array<{ metadata: { name: string } }>) await h.kube.ucloudJobs.delete(NS, j.metadata.name);
}

async function check(route: (typeof POST_ROUTES)[number], body: unknown): Promise<void> {
  const schema = SCHEMAS[route.call]!;
  const { reply, wrote } = await send('POST', url(route.path), body);
  // Judged on what the wire carries: JSON turns NaN into null and drops undefined, and a schema
  // may accept null where it refuses NaN (a Go nil slice, say).
  const onWire: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  if (schema.safeParse(onWire ?? {}).success) await afterValid(reply, wrote, route.call);
  else expectRefused(reply, wrote, `${route.call} ${JSON.stringify(body)?.slice(0, 200)}`);
}

describe('adapter under hostile input', () => {
  it.each(POST_ROUTES.map((r) => [r.call, r.path, r] as const))(
    '%s (%s): type-confused bodies',
    async (_c, _p, route) => {
      await fc.assert(
        fc.asyncProperty(mutatedBody(baseBody(route.call)), (body) => check(route, body)),
        params(),
      );
    },
    T,
  );

  it.each(POST_ROUTES.map((r) => [r.call, r.path, r] as const))(
    '%s (%s): bodies of the wrong shape',
    async (_c, _p, route) => {
      await fc.assert(
        fc.asyncProperty(wildBody, (body) => check(route, body)),
        params(),
      );
    },
    T,
  );

  it(
    'raw bodies that are not JSON, or nest 200,000 deep',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...POST_ROUTES), rawBody, async (route, raw) => {
          tally.rawBodies++;
          if (raw.length > 2000) tally.deep++;
          let parsed: unknown;
          let json = true;
          // An empty body is no body (body-parser leaves req.body unset): only init takes that.
          if (raw.replace(/^\ufeff/, '').trim() === '') parsed = undefined;
          else
            try {
              // body-parser drops a leading BOM, as JSON.parse does not.
              parsed = JSON.parse(raw.replace(/^\ufeff/, ''));
            } catch {
              json = false;
            }
          const { reply, wrote } = await send('POST', url(route.path), undefined, { raw });
          if (json && SCHEMAS[route.call]!.safeParse(parsed ?? {}).success) await afterValid(reply, wrote, route.call);
          else expectRefused(reply, wrote, `${route.call} raw ${raw.slice(0, 80)}`);
        }),
        params(Math.max(20, Math.ceil(RUNS / 2))),
      );
    },
    T,
  );

  it(
    'bulk requests past the 1,000-item limit and huge strings',
    async () => {
      const job = validJob();
      const runs = Math.max(3, Math.ceil(RUNS / 30));
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...POST_ROUTES.filter((r) => !NOT_BULK.has(r.call))),
          fc.integer({ min: 1001, max: 3000 }),
          fc.boolean(),
          async (route, n, hugeString) => {
            tally.oversized++;
            const plain = route.call === 'create' ? job : (baseBody(route.call) as { items: unknown[] }).items[0];
            // Every job id in the item (items[].id, job.id, resource.id) as a 300,000-character string.
            const item = hugeString ? JSON.parse(JSON.stringify(plain), (k, v) => (k === 'id' && typeof v === 'string' ? 'x'.repeat(300_000) : v)) : plain;
            const body = hugeString ? { items: [item] } : { items: Array.from({ length: n }, () => item) };
            const { reply, wrote } = await send('POST', url(route.path), body);
            expectRefused(reply, wrote, `${route.call} oversized`);
          },
        ),
        params(runs),
      );
      // Past the 32 MiB body limit: 413 before anything is parsed.
      const { reply, wrote } = await send('POST', jobsPath(), undefined, { raw: `{"items":["${'a'.repeat(33 * 2 ** 20)}"]}` });
      tally.oversized++;
      expectRefused(reply, wrote, 'body past the limit');
      expect(reply.status).toBe(413);
    },
    T,
  );

  it(
    'forged, expired and missing tokens on every route',
    async () => {
      const routes = [...POST_ROUTES, ...GET_ROUTES];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...routes), forgedTokens(keys, other), async (route, forged) => {
          const { kind, header } = await forged;
          tally.forgedTokens++;
          const headers: Record<string, string> = header === undefined ? {} : { authorization: header };
          // A valid create body: only the token stands between it and a write.
          const body = route.method === 'POST' ? { items: [validJob()] } : undefined;
          const { reply, wrote } = await send(route.method, url(route.path), body, { token: null, headers });
          expectRefused(reply, wrote, `token ${kind} on ${route.call}`);
          expect(reply.status).toBe(401);
        }),
        params(Math.max(30, RUNS)),
      );
    },
    T,
  );

  it(
    'GET calls with hostile query strings never fail with a 5xx and never write',
    async () => {
      const key = fc.string({ unit: fc.constantFrom(...'abcdijklmnop[]._-'.split('')), minLength: 1, maxLength: 12 });
      const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('%00', '%ff', '%', '-1', '1e309', 'null', '[]', 'x'.repeat(5000)));
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...GET_ROUTES), fc.array(fc.tuple(key, value), { maxLength: 6 }), async (route, pairs) => {
          const qs = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v.startsWith('%') ? v : encodeURIComponent(v)}`).join('&');
          const { reply, wrote } = await send('GET', `${url(route.path)}${qs ? `?${qs}` : ''}`, undefined);
          expect(reply.status).toBeLessThan(500);
          if (reply.status >= 400) expect(typeof reply.body?.why).toBe('string');
          expect(wrote).toBe(0);
        }),
        params(Math.max(20, Math.ceil(RUNS / 2))),
      );
    },
    T,
  );

  it(
    'unknown paths and methods get 404 with a why',
    async () => {
      const segment = fc.string({ unit: fc.constantFrom(...'abcxyz-_.~%20'.split('')), minLength: 1, maxLength: 12 });
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), fc.array(segment, { minLength: 1, maxLength: 4 }), async (method, segs) => {
          const path = `/jobs/${segs.join('/')}`;
          const known = [...POST_ROUTES, ...GET_ROUTES].some((r) => r.path === path && r.method === method);
          fc.pre(!known);
          const { reply, wrote } = await send(method, url(path), method === 'GET' ? undefined : {});
          expectRefused(reply, wrote, `${method} ${path}`);
        }),
        params(Math.max(20, Math.ceil(RUNS / 2))),
      );
    },
    T,
  );

  it(
    'is still up, serves a valid call, wrote nothing refused and kept its heap bounded',
    async () => {
      const ok = await h.call('GET', jobsPath('retrieveProducts'));
      expect(ok.status).toBe(200);
      expect(unexpected).toEqual([]);
      // Generous: the inputs total several hundred MiB (oversized bulks, 33 MiB bodies).
      const growth = process.memoryUsage().heapUsed - heapBefore;
      expect(growth).toBeLessThan(256 * 2 ** 20);
    },
    T,
  );
});

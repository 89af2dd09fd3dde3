// Generators and bookkeeping for the hostile-input fuzz suite. Shared by the unit run
// (short, part of `npm test`) and the full run (`npm run chaos`, FUZZ_RUNS large).
import fc from 'fast-check';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ROUTES } from '../../../src/adapter/app.js';
import { specJob } from '../../support/job-factory.js';
import { coreToken, type Keys } from '../adapter/support.js';

/** Runs per property; `FUZZ_RUNS` overrides (the README's full run uses >= 10,000 in total). */
export const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150));
/** fast-check seed, printed so a failure can be replayed with FUZZ_SEED. */
export const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

export const POST_ROUTES = ROUTES.filter((r) => r.method === 'POST');
export const GET_ROUTES = ROUTES.filter((r) => r.method === 'GET');

/** Totals across the suite, printed at the end. */
export const tally = { inputs: 0, rejected4xx: 0, acceptedValid: 0, forgedTokens: 0, rawBodies: 0, oversized: 0, deep: 0 };

/** A valid create body item (the spec's example). */
export function validJob(id = '54112'): Record<string, unknown> {
  return specJob(id);
}

/** Every path to a value in a JSON tree (objects and arrays included, root excluded). */
export function paths(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...prefix, i]);
      paths(x, [...prefix, i], out);
    });
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push([...prefix, k]);
      paths(x, [...prefix, k], out);
    }
  }
  return out;
}

export function setPath(root: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  const copy = structuredClone(root);
  let cur = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === DELETE) delete cur[last];
  else cur[last] = value;
  return copy;
}
export const DELETE = Symbol('delete');

/** Values of the wrong type, or of the right type at absurd sizes. */
export const confusedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(DELETE),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 1.5, 1001, 100000),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '../../etc/passwd', '$(rm -rf /)', '\u0000', '\ud800', 'a'.repeat(70_000), '__proto__', 'constructor'),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 2 }), { maxKeys: 5 }),
  fc.constant({ __proto__: { polluted: true } }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}}')),
);

/** A valid body of the route with one value somewhere replaced by a confused one. */
export function mutatedBody(base: unknown): fc.Arbitrary<unknown> {
  const all = paths(base);
  return fc.tuple(fc.integer({ min: 0, max: all.length - 1 }), confusedValue).map(([i, v]) => setPath(base, all[i]!, v));
}

/** Valid-looking bodies for each route, the seeds of the mutations. */
export function baseBody(call: string): unknown {
  const ref = { id: '54112' };
  switch (call) {
    case 'create':
      return { items: [validJob()] };
    case 'terminate':
    case 'verify':
      return { items: [validJob()] };
    case 'extend':
      return { items: [{ job: ref, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] };
    case 'suspend':
    case 'unsuspend':
      return { items: [{ job: ref }] };
    case 'updateAcl':
      return { items: [{ resource: ref, added: [{ entity: { type: 'user', username: 'u' }, permissions: ['READ'] }], deleted: [] }] };
    case 'interactiveSession':
      return { items: [{ job: ref, rank: 0, sessionType: 'SHELL', target: null }] };
    case 'init':
    case 'integrationInit':
      return { principal: { createdBy: 'user', project: null } };
    case 'integrationConnect':
    case 'integrationUnlinked':
      return { username: 'user#1234' };
    case 'requestDynamicParameters':
      return { owner: { createdBy: 'user#1234', project: null }, application: { metadata: { name: 'a', version: '1' } } };
    default:
      return {};
  }
}

/** Whole bodies that are not what the route takes at all. */
export const wildBody: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 4, maxKeys: 6 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ items: fc.anything({ maxDepth: 3 }) }),
  fc.record({ items: fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 8 }) }),
  fc.constant({ items: [] }),
  fc.constant({ items: null }),
  fc.constant([]),
  fc.constant('items'),
  fc.constant(0),
);

/** Raw bodies that are not JSON, or JSON that stresses the parser. */
export const rawBody: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '{"items":[', '[1,2', 'nul', '{"items": [}]}', '\u0000', '\ufeff{"items":[]}', 'NaN', '{"a":1,}'),
  fc.integer({ min: 1000, max: 200_000 }).map((d) => `{"items":${'['.repeat(d)}${']'.repeat(d)}}`),
  fc.integer({ min: 1000, max: 50_000 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
);

/** Forged or broken bearer tokens; each must be refused with 401. */
export function forgedTokens(keys: Keys, other: Keys): fc.Arbitrary<Promise<{ kind: string; header: string | undefined }>> {
  const now = () => Math.floor(Date.now() / 1000);
  const base = () => ({ sub: '_UCloud', role: 'SERVICE', iss: 'cloud.sdu.dk', iat: now(), exp: now() + 600 });
  const bearer = (t: string) => `Bearer ${t}`;
  const make: Record<string, () => Promise<string | undefined>> = {
    missing: async () => undefined,
    'alg none': async () => bearer(new UnsecuredJWT(base()).encode()),
    'HS256 keyed with the PEM public key': async () =>
      bearer(await new SignJWT(base()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(keys.pem))),
    'HS256 keyed with the DER public key': async () =>
      bearer(await new SignJWT(base()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(keys.der))),
    'wrong key': async () => bearer(await coreToken(other.privateKey)),
    expired: async () => bearer(await coreToken(keys.privateKey, { iat: now() - 3000, exp: now() - 600 })),
    'wrong role': async () => bearer(await coreToken(keys.privateKey, { role: 'USER' })),
    'provider role': async () => bearer(await coreToken(keys.privateKey, { role: 'PROVIDER', sub: '#P_example' })),
    'wrong issuer': async () => bearer(await coreToken(keys.privateKey, { iss: 'evil.example' })),
    'wrong subject': async () => bearer(await coreToken(keys.privateKey, { sub: 'admin' })),
    'no exp': async () => bearer(await coreToken(keys.privateKey, { exp: undefined })),
    'issued in the future': async () => bearer(await coreToken(keys.privateKey, { iat: now() + 3600, exp: now() + 4200 })),
    'payload swapped': async () => {
      const good = (await coreToken(keys.privateKey)).split('.');
      const evil = Buffer.from(JSON.stringify({ ...base(), role: 'SERVICE', admin: true })).toString('base64url');
      return bearer(`${good[0]}.${evil}.${good[2]}`);
    },
    'signature stripped': async () => bearer((await coreToken(keys.privateKey)).split('.').slice(0, 2).join('.') + '.'),
    'not bearer': async () => `Basic ${Buffer.from('admin:admin').toString('base64')}`,
  };
  const kinds = Object.keys(make);
  return fc.oneof(
    fc.constantFrom(...kinds).map(async (kind) => ({ kind, header: await make[kind]!() })),
    // Garbage in the header itself (only characters fetch can send).
    fc.string({ unit: fc.constantFrom(...'abcXYZ019.-_~+/= \t'.split('')), maxLength: 300 }).map(async (s) => ({ kind: 'garbage', header: `Bearer ${s}` })),
    fc.base64String({ maxLength: 400 }).map(async (s) => ({ kind: 'garbage jwt', header: `Bearer ${s}.${s}.${s}` })),
  );
}

// One copy of each string that thousands of cached objects repeat. JSON.parse gives every object
// its own copy of its namespace, label values, image, product, node name and condition reasons and
// messages: with 2,000 jobs, their pods and children, a heap snapshot held 3.8 MiB of such copies
// of a few hundred distinct strings ('ucloud-operator' 10,001 times, the namespace 12,001 times;
// docs/performance.md, "Memory"), i.e. ~19 MiB at 10,000 jobs. The caches' trim functions pass
// their objects through here, so each cached object points at the one shared copy.
//
// Values that differ per object (names, uids, resourceVersions, timestamps, addresses) are never
// pooled: they would only grow the pool. The pool is bounded as well: past MAX_DISTINCT strings,
// a new one is kept as it came (correct, merely not shared).

const MAX_DISTINCT = 8192;
const MAX_LENGTH = 200;
const pool = new Map<string, string>();

/** The pooled copy of `s` (or `s` itself, when it is long or the pool is full). */
export function share<T extends string | undefined>(s: T): T {
  if (s === undefined || s.length > MAX_LENGTH) return s;
  const hit = pool.get(s);
  if (hit !== undefined) return hit as T;
  if (pool.size < MAX_DISTINCT) pool.set(s, s);
  return s;
}

/** Keys whose values differ per object: copied, never pooled. */
const PER_OBJECT = new Set([
  'name',
  'generateName',
  'uid',
  'resourceVersion',
  'jobId',
  'id',
  'chargeId',
  'at',
  'creationTimestamp',
  'deletionTimestamp',
  'lastTransitionTime',
  'lastHeartbeatTime',
  'startedAt',
  'finishedAt',
  'startTime',
  'expiresAt',
  'podIP',
  'ip',
  'hostIP',
  // The job's name and id as labels (LABEL_JOB, LABEL_JOB_ID in src/api/v1alpha1/ucloudjob.ts).
  'ucloud.dk/job',
  'ucloud.dk/job-id',
]);

/**
 * A copy of JSON-shaped data with every short string shared, except under the per-object keys
 * above. Dates (client-node's deserialised timestamps) and other class instances are kept as they are.
 */
export function shareStrings<T>(value: T): T {
  return copy(value, undefined) as T;
}

function copy(v: unknown, key: string | undefined): unknown {
  if (typeof v === 'string') return key !== undefined && PER_OBJECT.has(key) ? v : share(v);
  if (Array.isArray(v)) return v.map((x) => copy(x, key));
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return v;
  const out: Record<string, unknown> = {};
  // Keys need nothing: JSON.parse already gives property names one internalised copy.
  for (const [k, x] of Object.entries(v)) out[k] = copy(x, k);
  return out;
}

/** Distinct strings pooled (tests, and a metric if it is ever wanted). */
export function sharedStringCount(): number {
  return pool.size;
}

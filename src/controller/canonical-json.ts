// JSON with object keys sorted and undefined dropped: the apiserver returns objects in its schema's
// key order, client-node in its models' order, our builders in construction order, and the same
// value must compare (and hash) equal however its keys are ordered.
import { createHash } from 'node:crypto';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object' && Object.prototype.toString.call(v) !== '[object Date]') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

export function canonicalJson(v: unknown): string {
  return JSON.stringify(canonical(v));
}

/** A short digest of canonicalJson(v), for keeping one per job in memory. */
export function canonicalHash(v: unknown): string {
  return createHash('sha1').update(canonicalJson(v)).digest('base64');
}

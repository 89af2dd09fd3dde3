// Per-session authentication of WEB and VNC sessions. interactiveSession stores a session
// (store.ts: a Secret named after a hash of a 256-bit identifier) bound to the rank's host and the
// job's owner, and hands the browser a URL carrying the identifier once (`?ucloud-session=`). The
// Ingress asks this endpoint about every request (ingress-nginx `auth-url`, Traefik `forwardAuth`,
// ...): a request carrying a valid identifier for its host, in the query or in the host-only cookie
// set on the first answer, is admitted (200); anything else is 401 and never reaches the job. A
// session ends at its expiry and when its job ends. Public on purpose (the ingress controller has
// no UCloud token): what it answers says only whether a 256-bit secret is valid.
import type { IncomingHttpHeaders } from 'node:http';
import { isFinal } from '../../api/v1alpha1/ucloudjob.js';
import type { JobStore } from '../job-store.js';
import type { SessionRecord, SessionStore } from './store.js';

export const WEB_SESSION_PARAM = 'ucloud-session';
export const WEB_SESSION_COOKIE = 'ucloud-session';

export interface WebAuthAnswer {
  status: 200 | 401;
  /** Set-Cookie for the browser (the ingress controller passes it on: auth-always-set-cookie). */
  setCookie?: string;
  why?: string;
}

interface Cached {
  record?: SessionRecord;
  until: number;
}

/** The host and the query of the request the ingress controller is asking about. */
export function originalRequest(headers: IncomingHttpHeaders): { host?: string; search: URLSearchParams } {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  let host = one(headers['x-forwarded-host']);
  let search = new URLSearchParams();
  const original = one(headers['x-original-url']);
  if (original) {
    try {
      const u = new URL(original);
      host ??= u.host;
      search = u.searchParams;
    } catch {
      /* not a URL: no query */
    }
  } else {
    const uri = one(headers['x-forwarded-uri']);
    if (uri) {
      try {
        search = new URL(uri, 'http://x').searchParams;
      } catch {
        /* no query */
      }
    }
  }
  host ??= one(headers.host);
  return { host: host?.split(',')[0]!.trim().toLowerCase().replace(/:\d+$/, ''), search };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class WebAuth {
  private readonly cache = new Map<string, Cached>();
  constructor(
    private readonly store: SessionStore,
    private readonly jobs: JobStore,
    private readonly opts: { secure: boolean; now?: () => Date; cacheMs?: number; maxCached?: number } = { secure: true },
  ) {}

  private now(): number {
    return (this.opts.now ?? (() => new Date()))().getTime();
  }

  /** Session look-ups are cached briefly (every request of a web app is asked about), bounded. */
  private async session(identifier: string): Promise<SessionRecord | undefined> {
    const t = this.now();
    const hit = this.cache.get(identifier);
    if (hit && hit.until > t) return hit.record;
    let record = await this.store.lookup(identifier).catch(() => undefined);
    if (record) {
      const job = await this.jobs.get(record.jobId).catch(() => undefined);
      const sameOwner =
        !!job && job.spec.owner.createdBy === record.owner.createdBy && (job.spec.owner.project ?? undefined) === (record.owner.project ?? undefined);
      if (!job || !sameOwner || isFinal(job.status?.state) || job.spec.terminationRequestedAt) record = undefined;
    }
    if (this.cache.size >= (this.opts.maxCached ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
    const until = Math.min(t + (this.opts.cacheMs ?? 10_000), record ? Date.parse(record.expiresAt) : Infinity);
    this.cache.set(identifier, { record, until });
    return record;
  }

  async verify(headers: IncomingHttpHeaders): Promise<WebAuthAnswer> {
    const { host, search } = originalRequest(headers);
    if (!host) return { status: 401, why: 'no host' };
    const fromQuery = search.get(WEB_SESSION_PARAM) ?? undefined;
    const fromCookie = cookieValue(Array.isArray(headers.cookie) ? headers.cookie.join(';') : headers.cookie, WEB_SESSION_COOKIE);
    for (const identifier of [fromQuery, fromCookie]) {
      if (!identifier || identifier.length > 64) continue;
      const record = await this.session(identifier);
      if (!record || (record.type !== 'WEB' && record.type !== 'VNC') || record.host !== host) continue;
      if (identifier === fromCookie) return { status: 200 };
      const maxAge = Math.max(0, Math.floor((Date.parse(record.expiresAt) - this.now()) / 1000));
      // No Domain attribute: host-only, so the cookie goes to this rank's host and no other.
      const setCookie = `${WEB_SESSION_COOKIE}=${identifier}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${this.opts.secure ? '; Secure' : ''}`;
      return { status: 200, setCookie };
    }
    return { status: 401, why: 'no valid session for this host' };
  }
}

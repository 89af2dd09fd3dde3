// Interactive sessions, durable in the cluster: each session is one Secret, named after a hash of
// its identifier and owned by the job's UCloudJob (garbage-collected with it). Any replica can
// therefore serve a session another replica opened, and a restart loses none. The identifier
// itself (32 random bytes) is handed to UCloud/Core once and never stored or logged: whoever can
// read the Secrets learns which sessions exist, not how to use them.
import { createHash, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { API_VERSION, KIND, LABEL_JOB, LABEL_MANAGED_BY, MANAGED_BY, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { SecretApi } from './secret-api.js';

export type SessionType = 'SHELL' | 'WEB' | 'VNC';

export interface SessionRecord {
  type: SessionType;
  jobId: string;
  rank: number;
  owner: { createdBy: string; project?: string };
  createdAt: string;
  expiresAt: string;
  /** WEB and VNC: the host the session (and its cookie) is valid for. */
  host?: string;
}

export const LABEL_SESSION = 'ucloud.dk/interactive-session';
const DATA_KEY = 'session.json';

export function sessionSecretName(identifier: string): string {
  return `ucloud-session-${createHash('sha256').update(identifier).digest('hex').slice(0, 40)}`;
}

const IDENTIFIER = /^[A-Za-z0-9_-]{43}$/;

/** The record a session Secret holds (as read back: base64 data, or stringData), if it parses. */
export function sessionRecordOf(secret: V1Secret | undefined): SessionRecord | undefined {
  const raw = secret?.data?.[DATA_KEY] ?? undefined;
  const text = raw !== undefined ? Buffer.from(raw, 'base64').toString('utf8') : secret?.stringData?.[DATA_KEY];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as SessionRecord;
  } catch {
    return undefined;
  }
}

export class SessionStore {
  constructor(
    private readonly secrets: SecretApi,
    private readonly namespace: string,
    private readonly ttlSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Opens a session of `type` on `rank` of `job`; returns its identifier and record. */
  async open(
    job: UCloudJob,
    type: SessionType,
    rank: number,
    opts: { host?: string; ttlSeconds?: number } = {},
  ): Promise<{ identifier: string; record: SessionRecord }> {
    const now = this.now();
    const record: SessionRecord = {
      type,
      jobId: job.spec.jobId,
      rank,
      owner: { ...job.spec.owner },
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + (opts.ttlSeconds ?? this.ttlSeconds) * 1000).toISOString(),
      ...(opts.host ? { host: opts.host } : {}),
    };
    for (;;) {
      const identifier = randomBytes(32).toString('base64url');
      const secret: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name: sessionSecretName(identifier),
          namespace: this.namespace,
          labels: { [LABEL_JOB]: job.metadata.name, [LABEL_SESSION]: type.toLowerCase(), [LABEL_MANAGED_BY]: MANAGED_BY },
          // Not a controller reference: the reconciler never manages these, only GC removes them.
          ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: job.metadata.name, uid: job.metadata.uid! }],
        },
        stringData: { [DATA_KEY]: JSON.stringify(record) },
      };
      if (await this.secrets.create(this.namespace, secret)) return { identifier, record };
      // A collision of 256 random bits does not happen; if it did, draw again.
    }
  }

  /** The live session of an identifier; an expired one is deleted and treated as unknown. */
  async lookup(identifier: string): Promise<SessionRecord | undefined> {
    return (await this.read(identifier))?.record;
  }

  /**
   * Takes a single-use session (a terminal's): its Secret is deleted with a uid precondition, so
   * of two sockets presenting the same identifier at once exactly one gets the record.
   */
  async consume(identifier: string): Promise<SessionRecord | undefined> {
    const found = await this.read(identifier);
    if (!found) return undefined;
    const taken = await this.secrets.delete(this.namespace, sessionSecretName(identifier), { uid: found.uid });
    return taken ? found.record : undefined;
  }

  private async read(identifier: string): Promise<{ record: SessionRecord; uid?: string } | undefined> {
    if (!IDENTIFIER.test(identifier)) return undefined;
    const name = sessionSecretName(identifier);
    const secret = await this.secrets.get(this.namespace, name);
    const record = sessionRecordOf(secret);
    if (!record) return undefined;
    if (!(Date.parse(record.expiresAt) > this.now().getTime())) {
      await this.secrets.delete(this.namespace, name).catch(() => undefined);
      return undefined;
    }
    return { record, uid: secret?.metadata?.uid };
  }
}

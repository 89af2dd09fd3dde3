// security: L13 — expired session Secrets go while their job still runs. The leader's sweep reads
// one bounded page of session Secrets (by label) per pass and deletes those whose record has
// expired; live sessions, SSH keys and other Secrets stay. The cursor carries over, so live
// sessions never starve the expired ones behind them. The real apiserver and the operator's
// leader duty: test/integration/security-l13-session-sweep.test.ts.
import type { V1Secret } from '@kubernetes/client-node';
import { SessionStore, type SessionType } from '../../../src/adapter/sessions/store.js';
import { SessionSweeper } from '../../../src/adapter/sessions/sweep.js';
import { rootLogger } from '../../../src/observability/log.js';
import { MemorySecrets } from '../adapter/memory-secrets.js';
import { NS } from '../adapter/support.js';
import { RUNNING_JOB as job } from '../adapter/terminal-gateway.js';

const T0 = Date.parse('2026-12-07T12:00:00Z');

describe('security: L13 expired session Secrets are swept while their job runs', () => {
  let secrets: MemorySecrets;
  let now: number;
  const clock = () => new Date(now);

  beforeEach(() => {
    secrets = new MemorySecrets();
    now = T0;
  });

  async function open(type: SessionType, ttlSeconds: number): Promise<string> {
    const store = new SessionStore(secrets, NS, ttlSeconds, clock);
    const { identifier } = await store.open(job, type, 0);
    return identifier;
  }
  const names = () => [...secrets.objects.keys()].sort();

  it('deletes expired terminal and web sessions, keeps live ones and Secrets that are not sessions', async () => {
    const shortShell = await open('SHELL', 300);
    const shortWeb = await open('WEB', 600);
    const longWeb = await open('WEB', 12 * 3600);
    const ssh: V1Secret = { metadata: { name: 'j-1-ssh', labels: { 'ucloud.dk/job': 'j-1' } }, stringData: { authorized_keys: 'ssh-ed25519 AAAA' } };
    await secrets.create(NS, ssh);
    const sweeper = new SessionSweeper({ secrets, namespace: NS, logger: rootLogger, intervalMs: 1000, now: clock });

    // Nothing has expired yet.
    expect(await sweeper.sweepOnce()).toEqual({ examined: 3, deleted: 0 });
    expect(names()).toHaveLength(4);

    now = T0 + 601_000;
    expect(await sweeper.sweepOnce()).toEqual({ examined: 3, deleted: 2 });
    const store = new SessionStore(secrets, NS, 300, clock);
    expect(await store.lookup(longWeb)).toMatchObject({ type: 'WEB' });
    for (const gone of [shortShell, shortWeb]) expect(await store.lookup(gone)).toBeUndefined();
    expect(names()).toContain(`${NS}/j-1-ssh`);
    expect(names()).toHaveLength(2);
  });

  it('reads one bounded page per pass and carries on where it stopped, so live sessions do not starve expired ones', async () => {
    for (let i = 0; i < 7; i++) await open('WEB', 12 * 3600);
    for (let i = 0; i < 5; i++) await open('SHELL', 300);
    now = T0 + 301_000;
    const sweeper = new SessionSweeper({ secrets, namespace: NS, logger: rootLogger, intervalMs: 1000, pageSize: 4, now: clock });
    const passes = [];
    for (let i = 0; i < 3; i++) passes.push(await sweeper.sweepOnce());
    expect(passes.map((p) => p.examined)).toEqual([4, 4, 4]);
    expect(passes.reduce((n, p) => n + p.deleted, 0)).toBe(5);
    expect(names()).toHaveLength(7);
    // The cursor wraps round: the next pass starts from the first page again.
    expect((await sweeper.sweepOnce()).examined).toBe(4);
  });

  it('deletes a session Secret whose record cannot be read (it can never be used)', async () => {
    await open('SHELL', 300);
    const [key] = [...secrets.objects.keys()];
    secrets.objects.get(key!)!.data = { 'session.json': Buffer.from('{not json').toString('base64') };
    const sweeper = new SessionSweeper({ secrets, namespace: NS, logger: rootLogger, intervalMs: 1000, now: clock });
    expect(await sweeper.sweepOnce()).toEqual({ examined: 1, deleted: 1 });
  });
});

// L13: expired session Secrets go while their job still runs. A terminal session is deleted when
// it is used and a web session outlives nothing but its job, yet a session nobody ever opens (a
// browser tab closed before it connected) would stay until the job's retention ends, days later.
// The leader sweeps them: Secrets with the session label (store.ts), one bounded page per pass,
// each deleted once the expiresAt its record carries has passed (uid precondition: a Secret
// replaced meanwhile is not touched). The cursor carries over between passes, so sessions that
// are still live cannot starve the ones behind them. IM2 does the same in memory: dead shell
// sessions are dropped on every new interactiveSession and web sessions once their job is gone
// (provider-integration/im2/pkg/controller/jobs.go, jobCleanupShellSessions, jobRoutesRefresh).
import { isGone } from '../../k8s/errors.js';
import type { Logger } from '../../observability/log.js';
import type { SecretApi } from './secret-api.js';
import { LABEL_SESSION, sessionRecordOf } from './store.js';

export interface SessionSweepOptions {
  secrets: SecretApi;
  namespace: string;
  logger: Logger;
  intervalMs: number;
  /** Secrets read per pass (one list page): bounds a pass's memory and apiserver work. */
  pageSize?: number;
  now?: () => Date;
}

export class SessionSweeper {
  private cursor: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly opts: SessionSweepOptions) {}

  /** One pass: the next page of session Secrets; deletes the expired ones. */
  async sweepOnce(): Promise<{ examined: number; deleted: number }> {
    const { secrets, namespace } = this.opts;
    let page;
    try {
      page = await secrets.list(namespace, LABEL_SESSION, { limit: this.opts.pageSize ?? 200, cont: this.cursor });
    } catch (e) {
      // An expired continue token: start over from the first page next time.
      this.cursor = undefined;
      if (isGone(e)) return { examined: 0, deleted: 0 };
      throw e;
    }
    this.cursor = page.cont;
    const now = (this.opts.now ?? (() => new Date()))().getTime();
    let deleted = 0;
    for (const secret of page.items) {
      const record = sessionRecordOf(secret);
      // A record that does not parse cannot be used either (store.ts treats it as unknown).
      const expired = !record || !(Date.parse(record.expiresAt) > now);
      if (!expired || !secret.metadata?.name) continue;
      if (await secrets.delete(namespace, secret.metadata.name, { uid: secret.metadata.uid })) deleted++;
    }
    if (deleted) this.opts.logger.info('Deleted expired session Secrets', { deleted, examined: page.items.length });
    return { examined: page.items.length, deleted };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweepOnce()
        .catch((e) => this.opts.logger.warn('Session sweep failed', { err: e }))
        .finally(() => (this.running = undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

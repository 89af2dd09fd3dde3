// `main.js --self-test`: what `helm test` runs in a pod of the operator's own image (no shell in
// distroless). It checks, from inside the cluster, the two things an install needs to work: the
// operator answers /readyz, and its credentials get an access token from UCloud/Core. It never
// prints a secret: ControlApiError texts are redacted by the client.
import type { OperatorConfig } from './config.js';
import type { Logger } from './observability/log.js';
import { JobsControlClient } from './ucloud/control-client.js';

export interface SelfTestCheck {
  check: 'readyz' | 'token-refresh';
  ok: boolean;
  detail: string;
}

export interface SelfTestOptions {
  config: OperatorConfig;
  /** The operator's /readyz, e.g. through its Service (SELF_TEST_READYZ_URL). */
  readyzUrl: string;
  logger: Logger;
  timeoutMs?: number;
}

async function checkReadyz(url: string, timeoutMs: number): Promise<SelfTestCheck> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).slice(0, 200);
    return { check: 'readyz', ok: res.status === 200, detail: `${res.status} ${body}` };
  } catch (e) {
    return { check: 'readyz', ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}

async function checkRefresh(opts: SelfTestOptions, timeoutMs: number): Promise<SelfTestCheck> {
  const client = new JobsControlClient({
    coreUrl: opts.config.ucloud.coreUrl,
    refreshToken: opts.config.ucloud.refreshToken,
    logger: opts.logger,
    requestTimeoutMs: timeoutMs,
    // One attempt: a self-test reports what happens now, it does not wait out an outage.
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });
  try {
    await client.refreshNow();
    return { check: 'token-refresh', ok: true, detail: `access token from ${opts.config.ucloud.coreUrl}` };
  } catch (e) {
    return { check: 'token-refresh', ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}

/** Runs every check (both, even when the first fails: the report should say everything). */
export async function selfTest(opts: SelfTestOptions): Promise<{ ok: boolean; checks: SelfTestCheck[] }> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const checks = await Promise.all([checkReadyz(opts.readyzUrl, timeoutMs), checkRefresh(opts, timeoutMs)]);
  return { ok: checks.every((c) => c.ok), checks };
}

#!/usr/bin/env node
// Process entry point: configuration, signals, exit codes. SIGTERM drains (adapter stops taking
// calls, in-flight reconciles and reports finish, the lease is released) within the grace period
// and exits 0; a second signal or the deadline exits 1 at once. Node is PID 1 in the image: it
// runs these handlers (PID 1 only ignores signals that have none).
//   node dist/src/main.js                 run the operator
//   node dist/src/main.js --version       print the version and exit
//   node dist/src/main.js --check-config  validate the configuration (file + env), print it with
//                                         secrets masked, exit 0 (valid) or 2 (invalid)
//   node dist/src/main.js --self-test     check /readyz (SELF_TEST_READYZ_URL, default this pod's
//                                         probe port) and a token refresh at UCloud/Core; exit 0
//                                         when both pass, 1 otherwise (the chart's `helm test`)
// Exit codes: 0 clean stop, 1 failure or lost leadership, 2 invalid configuration.
import { readFileSync } from 'node:fs';
import { ConfigError, describeConfig, loadConfig } from './config.js';
import { rootLogger } from './observability/log.js';
import { loadKubeConfig, startOperator } from './operator.js';
import { selfTest } from './self-test.js';

const SHUTDOWN_DEADLINE_MS = Number(process.env.SHUTDOWN_DEADLINE_MS ?? 25_000);

function version(): string {
  // dist/src/main.js -> package.json at the package root (in the image: /app/package.json).
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<void> {
  const log = rootLogger.child({ component: 'main' });
  const args = process.argv.slice(2);
  if (args.includes('--version')) {
    process.stdout.write(`ucloud-operator ${version()}\n`);
    return;
  }
  const unknown = args.filter((a) => a !== '--check-config' && a !== '--self-test');
  if (unknown.length) {
    process.stderr.write(`usage: main.js [--version | --check-config | --self-test] (unknown: ${unknown.join(' ')})\n`);
    process.exitCode = 2;
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof Error) {
      // ConfigError, or a secret file (X_FILE) that cannot be read.
      log.error('Configuration is invalid', { why: e.message });
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  if (args.includes('--check-config')) {
    log.info('Configuration is valid', { version: version(), config: describeConfig(config) });
    return;
  }
  if (args.includes('--self-test')) {
    const readyzUrl = process.env.SELF_TEST_READYZ_URL ?? `http://127.0.0.1:${config.http.probePort}/readyz`;
    const result = await selfTest({ config, readyzUrl, logger: log });
    for (const c of result.checks)
      (c.ok ? log.info : log.error).call(log, `Self-test ${c.check} ${c.ok ? 'passed' : 'failed'}`, { check: c.check, detail: c.detail });
    log.info(result.ok ? 'Self-test passed' : 'Self-test failed', { readyzUrl, coreUrl: config.ucloud.coreUrl });
    process.exitCode = result.ok ? 0 : 1;
    return;
  }
  log.info('Starting', { version: version(), pid: process.pid });
  // Signal handlers go in before anything starts, so a SIGTERM during start-up also drains.
  let stopRequested: NodeJS.Signals | undefined;
  let stopNow: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      log.warn('Second signal, exiting now', { signal });
      process.exit(1);
    }
    stopRequested = signal;
    log.info('Shutting down', { signal });
    const deadline = setTimeout(() => {
      log.error('Shutdown deadline passed, exiting', { deadlineMs: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    stopNow?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const operator = await startOperator({
    config,
    kc: loadKubeConfig(),
    onLostLeadership: () => {
      log.error('Exiting after losing leadership');
      process.exit(1);
    },
  });
  stopNow = () => {
    operator
      .stop()
      .then(() => {
        log.info('Exiting', { signal: stopRequested });
        process.exit(0);
      })
      .catch((e: unknown) => {
        log.error('Shutdown failed', { err: e });
        process.exit(1);
      });
  };
  if (stopRequested) stopNow();
}

process.on('unhandledRejection', (reason) => {
  rootLogger.error('Unhandled promise rejection', { err: reason });
});

main().catch((e: unknown) => {
  rootLogger.error('ucloud-operator failed to start', { err: e });
  process.exit(1);
});

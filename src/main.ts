#!/usr/bin/env node
// Process entry point: configuration, signals, exit codes. SIGTERM drains (adapter stops taking
// calls, in-flight reconciles and reports finish) within the grace period; a second signal or the
// deadline exits at once.
import { ConfigError, loadConfig } from './config.js';
import { rootLogger } from './observability/log.js';
import { loadKubeConfig, startOperator } from './operator.js';

const SHUTDOWN_DEADLINE_MS = Number(process.env.SHUTDOWN_DEADLINE_MS ?? 25_000);

async function main(): Promise<void> {
  const log = rootLogger.child({ component: 'main' });
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error('Configuration is invalid', { why: e.message });
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  const operator = await startOperator({
    config,
    kc: loadKubeConfig(),
    onLostLeadership: () => {
      log.error('Exiting after losing leadership');
      process.exit(1);
    },
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('Second signal, exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('Shutting down', { signal });
    const deadline = setTimeout(() => {
      log.error('Shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    operator
      .stop()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        log.error('Shutdown failed', { err: e });
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

process.on('unhandledRejection', (reason) => {
  rootLogger.error('Unhandled promise rejection', { err: reason });
});

main().catch((e: unknown) => {
  rootLogger.error('ucloud-operator failed to start', { err: e });
  process.exit(1);
});

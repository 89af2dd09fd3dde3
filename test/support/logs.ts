// The operator's log lines in tests. Every test file starts with them dropped (the setup files call
// quietLogs, so no test file silences them itself); TEST_LOGS=1 prints them instead. A test that
// asserts on what was logged captures the lines of one piece of work with captureLogs.
import { setLogSink, type LogSink } from '../../src/observability/log.js';

const print: LogSink = (line) => void process.stdout.write(line + '\n');
const drop: LogSink = () => undefined;

/** Drops log lines (prints them with TEST_LOGS=1). Called by test/support/{unit,integration}-setup.ts. */
export function quietLogs(): void {
  setLogSink(process.env.TEST_LOGS === '1' ? print : drop);
}

/**
 * Collects the lines logged until stop() (they still reach the previous sink, so TEST_LOGS=1
 * prints them too). For a capture that outlives one call, e.g. a whole in-process operator.
 */
export function collectLogs(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const previous = setLogSink((line) => {
    lines.push(line);
    previous(line);
  });
  return { lines, stop: () => void setLogSink(previous) };
}

/** The lines logged while `work` runs (the sink is restored even if it throws). */
export async function captureLogs(work: () => Promise<unknown> | unknown): Promise<string[]> {
  const capture = collectLogs();
  try {
    await work();
  } finally {
    capture.stop();
  }
  return capture.lines;
}

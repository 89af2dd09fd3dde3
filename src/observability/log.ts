// Structured JSON logs, one object per line on stdout. Fields that could carry secrets are
// redacted by key so a careless `log.info('x', { token })` cannot leak credentials.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /(token|secret|password|authorization|bearer|privatekey|refresh)/i;
const REDACTED = '[redacted]';

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

let globalLevel: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info';
let globalSink: LogSink = (line) => process.stdout.write(line + '\n');

export function setLogLevel(level: LogLevel): void {
  globalLevel = level;
}

/** Replaces where log lines go (tests capture them to assert nothing secret is printed). */
export function setLogSink(sink: LogSink): LogSink {
  const previous = globalSink;
  globalSink = sink;
  return previous;
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') {
    if (value instanceof Error) return { name: value.name, message: value.message };
    return value;
  }
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

class JsonLogger implements Logger {
  constructor(private readonly bound: LogFields) {}

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (levelRank[level] < levelRank[globalLevel]) return;
    const entry = { time: new Date().toISOString(), level, msg, ...this.bound, ...fields };
    globalSink(JSON.stringify(redact(entry)));
  }
  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new JsonLogger({ ...this.bound, ...fields });
  }
}

export const rootLogger: Logger = new JsonLogger({});

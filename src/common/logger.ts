const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(message: string, meta?: unknown): void;
  info(message: string, meta?: unknown): void;
  warn(message: string, meta?: unknown): void;
  error(message: string, meta?: unknown): void;
}

/** One JSON line per event on stderr: easy to read for people and for log shippers. */
export function createLogger(level: LogLevel = "info"): Logger {
  const threshold = LEVELS[level];
  const emit = (name: Exclude<LogLevel, "silent">) => (message: string, meta?: unknown) => {
    if (LEVELS[name] < threshold) return;
    const extra = meta instanceof Error ? { error: meta.message, stack: meta.stack } : meta === undefined ? {} : { meta };
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: name, message, ...extra })}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

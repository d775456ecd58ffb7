/**
 * Log lines as the spec shows them (`[INFO] Proxmox VE detected, starting collector`). Under systemd
 * the journal adds time and unit, so a line is just `[LEVEL] message`. Logs go to stderr: stdout is
 * reserved for `collect --dry-run`, whose JSON lines must stay machine-readable.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at =
    (l: LogLevel) =>
    (msg: string): void => {
      if (LOG_LEVELS.indexOf(l) >= min) write(`[${l.toUpperCase()}] ${msg}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that keeps lines in memory (tests, `status`). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l.trimEnd()));
  return Object.assign(log, { lines });
}

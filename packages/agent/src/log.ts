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

/**
 * Server answers, guest names and file contents reach log messages. A control character there
 * could forge a line (`\n[INFO] …`), rewrite the terminal (ESC sequences) or reorder the text
 * (bidirectional overrides): line breaks and tabs become a space, the rest is removed.
 */
const CONTROL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const BREAKS = /[\t\n\r]+/g;

export const cleanLogText = (msg: string): string => msg.replace(BREAKS, ' ').replace(CONTROL, '');

export function createLogger(level: LogLevel, write: (line: string) => void): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at =
    (l: LogLevel) =>
    (msg: string): void => {
      if (LOG_LEVELS.indexOf(l) >= min) write(`[${l.toUpperCase()}] ${cleanLogText(msg)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that keeps lines in memory (tests, `status`). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l.trimEnd()));
  return Object.assign(log, { lines });
}

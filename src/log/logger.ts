/**
 * Structured logs: one JSON object per line on stdout, at or above the configured level. Callers pass
 * fields, never secrets: the request logger writes ids, never keys or bodies.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface Logger {
  enabled(level: Exclude<LogLevel, 'silent'>): boolean
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const threshold = rank[level]
  return {
    enabled: (l) => rank[l] >= threshold,
    log(l, msg, fields) {
      if (rank[l] < threshold) return
      write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }) + '\n')
    },
  }
}

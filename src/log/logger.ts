import { writeSync } from 'node:fs'

/**
 * Structured logs: one JSON object per line on stdout, at or above the configured level. Callers pass
 * fields, never secrets: the request logger writes ids, never keys or bodies.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
type LogLevel = (typeof LOG_LEVELS)[number]

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface Logger {
  enabled(level: Exclude<LogLevel, 'silent'>): boolean
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void
}

export function createLogger(level: LogLevel, write: (line: string) => void = stdoutPerTurn()): Logger {
  const threshold = rank[level]
  return {
    enabled: (l) => rank[l] >= threshold,
    log(l, msg, fields) {
      if (rank[l] < threshold) return
      write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }) + '\n')
    },
  }
}

/**
 * Writes the lines logged in one turn of the event loop to stdout in one write: under load a turn
 * answers dozens of requests, and a write per line is a system call per request. What is still
 * buffered when the process exits is written synchronously on the way out.
 */
function stdoutPerTurn(): (line: string) => void {
  return (stdoutWriter ??= bufferedStdout())
}

let stdoutWriter: ((line: string) => void) | undefined

function bufferedStdout(): (line: string) => void {
  let buffered = ''
  // Whatever reads stdout (a pipe to a log shipper, `| tee`) may go away: a write then fails (EPIPE), which
  // unhandled would end the gateway with calls in flight. The lines are dropped from then on, said once on stderr.
  let readerGone = false
  process.stdout.on('error', (error) => {
    if (readerGone) return
    readerGone = true
    buffered = ''
    try {
      writeSync(2, `[tollgate] stdout cannot be written (${(error as NodeJS.ErrnoException).code ?? error.message}): log lines are dropped from now on\n`)
    } catch {}
  })
  const flush = () => {
    const out = buffered
    buffered = ''
    if (out && !readerGone) process.stdout.write(out)
  }
  process.on('exit', () => {
    try {
      if (buffered && !readerGone) writeSync(1, buffered)
    } catch {}
    buffered = ''
  })
  return (line) => {
    if (readerGone) return
    if (!buffered) setImmediate(flush)
    buffered += line
  }
}

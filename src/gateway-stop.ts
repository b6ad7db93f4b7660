import { MAX_TIMER_MS, type Config } from './config/schema'
import { CHECKPOINTER_STOP_MS } from './db/checkpointer'
import { BUSY_TIMEOUT_MS } from './db/open'
import { READER_STOP_MS } from './records/records-reader'
import { CUT_WAL_MS } from './store/sqlite/cut-wal'

/** How long a stop lets an alert delivery under way finish; its claim is retried after a restart otherwise. */
export const ALERTS_STOP_MS = 1_000
/** How long a stop waits, past its grace, for the calls it cut to settle and their answers to be written. */
export const CLOSING_MS = 1_000
/** What the bound leaves for what no constant counts: the event loop's turns, the process's exit, a busy machine. */
const STOP_SLACK_MS = 2_000

/**
 * The longest a gateway's stop (RunningGateway.stop, src/server.ts) may take while still doing its work, for
 * the store `config` names: whoever waits on it (a TOLLGATE_WORKERS primary) may take a process still running
 * past this for hung. In order:
 * - the grace and CLOSING_MS, alongside the alerts' stop: a delivery cut after ALERTS_STOP_MS, and an alert
 *   write under way, which waits for the database as any write does;
 * - on SQLite, the records reader's and the checkpointer's threads, each waited for a moment;
 * - the store's close: on SQLite the queued settlements committed under the full busy timeout (another
 *   process may hold the write lock: a sibling worker, a backup, an operator's sqlite3), then the WAL cut; on
 *   Postgres every queued write within one `database_timeout_ms` (PostgresStore.close), the pool then dropped
 *   at once.
 * At most the longest a timer can wait (MAX_TIMER_MS): settings near it are weeks, beyond any stop.
 */
export function gatewayStopBoundMs(config: Pick<Config, 'shutdown_grace_ms' | 'database_url' | 'database_timeout_ms'>): number {
  const sqlite = !config.database_url
  const writeWaitMs = sqlite ? BUSY_TIMEOUT_MS : config.database_timeout_ms
  const drained = Math.max(config.shutdown_grace_ms + CLOSING_MS, ALERTS_STOP_MS + writeWaitMs)
  const threads = sqlite ? READER_STOP_MS + CHECKPOINTER_STOP_MS : 0
  const close = sqlite ? BUSY_TIMEOUT_MS + CUT_WAL_MS : config.database_timeout_ms
  // Each setting fits a timer; their sum may not, and a timer past the longest fires at once (every worker killed).
  return Math.min(drained + threads + close + STOP_SLACK_MS, MAX_TIMER_MS)
}

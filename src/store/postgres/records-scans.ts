import type { SQL } from 'bun'
import { clientClosedRequest, databaseUnavailable, reportsBusy } from '../../http/errors'
import { watchingStatements, type Statement } from './watched-statements'

/**
 * Scans one replica keeps waiting for their turn; past these a report is refused at once (503 reports_busy). A bound
 * on the memory the line holds, far above what consoles and scripts ask at once (the console's overview alone is
 * three scans): how long the line may wait is the deadline's to say.
 */
export const MAX_WAITING_SCANS = 256

/** A scan waiting for its turn, or the one that has it. */
interface Turn {
  begin(): void
  /** Answers its caller with `error`, unless it was answered already. */
  refuse(error: Error): void
}

/**
 * The records scans of one replica (reports, exports, the console's aggregates), one at a time, in order. A scan
 * takes a core of the database for as long as it runs, whatever pool its connection is from: a few at once, each
 * with its parallel workers, leave the holds of every inference request waiting for a CPU. The others wait their
 * turn, MAX_WAITING_SCANS at most (one more is refused 503 reports_busy: the database is not down for it).
 *
 * The line moves as long as the database answers, however long it is: when the deadline passes with the scan whose
 * turn it is still unanswered, that scan and every one waiting behind it are refused (503 database_unavailable, as
 * any records query past the deadline). A scan given up on, then or when its caller hangs up (its AbortSignal),
 * does not run on for nobody: it is dropped if its turn has not come, and its statement is cancelled if it has (Bun
 * asks Postgres to stop it, on a connection of its own). The next turn comes once Postgres has stopped it, not before.
 */
export class OneScanAtATime {
  /** The records pool, through which each statement of the scan whose turn it is can be cancelled. */
  readonly client: SQL
  private readonly waiting: Turn[] = []
  private current: Turn | undefined
  private stalled: Timer | undefined
  /** The statements the current scan has sent, and whether it was given up on (what it sends next is cancelled). */
  private sent: Statement[] = []
  private givenUp = false

  constructor(
    recordsSql: SQL,
    private readonly deadlineMs: number,
  ) {
    this.client = watchingStatements(recordsSql, (statement) => {
      if (this.givenUp) statement.cancel()
      else this.sent.push(statement)
    })
  }

  run<T>(scan: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(clientClosedRequest())
    if (this.waiting.length >= MAX_WAITING_SCANS) return Promise.reject(reportsBusy(this.waiting.length))
    return new Promise<T>((resolve, reject) => {
      let answered = false
      const answer = () => {
        answered = true
        signal?.removeEventListener('abort', hungUp)
      }
      const turn: Turn = {
        begin: () =>
          void Promise.resolve()
            .then(scan)
            .then(resolve, reject)
            .finally(() => {
              answer()
              this.nextTurn()
            }),
        refuse: (error) => {
          if (answered) return
          answer()
          reject(error)
        },
      }
      const hungUp = () => this.giveUp(turn, clientClosedRequest())
      signal?.addEventListener('abort', hungUp, { once: true })
      this.waiting.push(turn)
      if (!this.current) this.nextTurn()
    })
  }

  private nextTurn() {
    clearTimeout(this.stalled)
    this.sent = []
    this.givenUp = false
    this.current = this.waiting.shift()
    if (!this.current) return
    // Armed before the scan's transaction arms its own deadline, so that it fires first: the line is refused then,
    // rather than the next scan begun.
    this.stalled = setTimeout(() => {
      for (const turn of [this.current!, ...this.waiting]) this.giveUp(turn, databaseUnavailable())
    }, this.deadlineMs)
    this.current.begin()
  }

  private giveUp(turn: Turn, error: Error) {
    const waiting = this.waiting.indexOf(turn)
    if (waiting >= 0) this.waiting.splice(waiting, 1)
    else if (turn === this.current) this.cancelRunning()
    turn.refuse(error)
  }

  private cancelRunning() {
    this.givenUp = true
    for (const query of this.sent) query.cancel()
  }
}

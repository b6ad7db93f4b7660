import type { SQL } from 'drizzle-orm'
import type { BunSQLDatabase } from 'drizzle-orm/bun-sql'
import { clientClosedRequest } from '../http/errors'
import type { QuickReads } from '../store/postgres/quick-reads'
import type { RecordsReply, RecordsRequest } from './reader-worker'
import { recordsQueries, type RecordsQueries, type RecordsSource } from './usage-queries'

type Args<Q extends keyof RecordsQueries> = Parameters<RecordsQueries[Q]>[1]
type Result<Q extends keyof RecordsQueries> = Awaited<ReturnType<RecordsQueries[Q]>>

/** How long stopping a reader thread waits for it, and its connection, to be gone. */
export const READER_STOP_MS = 500

/** Where a store runs the records queries (src/records/usage-queries.ts). */
export interface RecordsReads {
  /**
   * One query's answer, all of it read on one snapshot of the database. Given up on once `signal` aborts (its
   * caller hung up): a query whose turn has not come is dropped, and on Postgres a running scan is cancelled.
   */
  run<Q extends keyof RecordsQueries>(query: Q, args: Args<Q>, signal?: AbortSignal): Promise<Result<Q>>
  /** Ends the reads; resolves once their connection is gone, or after READER_STOP_MS. */
  stop(): Promise<void>
}

const runOn = <Q extends keyof RecordsQueries>(source: RecordsSource, query: Q, args: Args<Q>): Promise<Result<Q>> =>
  Promise.resolve().then(() => (recordsQueries[query] as unknown as (source: RecordsSource, args: unknown) => Promise<Result<Q>>)(source, args))

/**
 * The records queries that read a page of an index or count one (GET /v1/keys and /v1/users, the /metrics alert
 * gauges, a key's own latest usage, a usage cursor's row by its id): a few ms each, off the request thread as the
 * others, but in a lane of their own, so that no report or export queued before them holds up a key list, a scrape
 * or a key reading its own usage. Every other query is a scan's.
 */
const QUICK_READS: ReadonlySet<keyof RecordsQueries> = new Set(['keyRows', 'userRows', 'alertDeliveryCounts', 'keyUsagePage', 'usageRowListed'])

const isQuick = (query: keyof RecordsQueries) => QUICK_READS.has(query)

/**
 * One answer in one REPEATABLE READ, READ ONLY transaction: all its statements read one snapshot, as on the reader
 * thread. `first`, when given, is sent before them (a bound on them).
 */
const inSnapshot = <Q extends keyof RecordsQueries>(
  db: BunSQLDatabase<Record<string, unknown>>,
  tables: RecordsSource['tables'],
  query: Q,
  args: Args<Q>,
  first?: SQL,
): Promise<Result<Q>> =>
  db.transaction(
    async (tx): Promise<Result<Q>> => {
      if (first) await tx.execute(first)
      return runOn({ db: tx as unknown as RecordsSource['db'], tables }, query, args)
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  )

/**
 * The records queries on Postgres, which already answers off the request thread: the scans on the records pool,
 * each when `inTurn` lets it (one at a time: src/store/postgres/records-scans.ts); the quick reads on `quick` (the
 * store's main pool, where they were answered before they were records queries), so as not to wait behind reports.
 * A quick read that outlasts its bound there (src/store/postgres/quick-reads.ts) is asked again as a scan.
 */
export const directRecords = (
  scans: BunSQLDatabase<Record<string, unknown>>,
  inTurn: <T>(scan: () => Promise<T>, signal?: AbortSignal) => Promise<T>,
  quick: QuickReads,
  tables: RecordsSource['tables'],
): RecordsReads => ({
  run: <Q extends keyof RecordsQueries>(query: Q, args: Args<Q>, signal?: AbortSignal): Promise<Result<Q>> => {
    const scan = () => inTurn(() => inSnapshot(scans, tables, query, args), signal)
    return isQuick(query) ? quick((db, bound) => inSnapshot(db, tables, query, args, bound), signal, scan) : scan()
  },
  stop: async () => {},
})

/**
 * Runs the records queries (usage lists, totals, the summary, the request log, the console's aggregates)
 * on threads of their own with read-only connections, so that a query scanning millions of rows never
 * holds up the thread that answers /health and inference. WAL lets those connections read beside the
 * gateway's writes; callers flush queued writes first, and each query reads what was committed when it
 * began: all its statements in one read transaction (see reader-worker.ts). A database in memory cannot be opened
 * twice: there the queries run on the caller's connection. The scans run on one thread, the quick reads
 * (QUICK_READS) on another, each one query at a time, in order; each thread starts with its first query.
 */
export class RecordsReader implements RecordsReads {
  private readonly scans: ReaderThread
  private readonly quick: ReaderThread

  constructor(
    private readonly source: RecordsSource,
    private readonly path: string,
  ) {
    this.scans = new ReaderThread(path)
    this.quick = new ReaderThread(path)
  }

  run<Q extends keyof RecordsQueries>(query: Q, args: Args<Q>, signal?: AbortSignal): Promise<Result<Q>> {
    if (this.path === ':memory:' || this.path === '') return runOn(this.source, query, args)
    return (isQuick(query) ? this.quick : this.scans).run(query, args, signal)
  }

  /**
   * Ends the threads and resolves once they are gone, with their connections (or after READER_STOP_MS): a
   * connection still open on a read would keep the store's last checkpoint, on close, from cutting the WAL.
   */
  async stop(): Promise<void> {
    await Promise.all([this.scans.stop(), this.quick.stop()])
  }
}

/**
 * One reader thread (reader-worker.ts) and its read-only connection: one query at a time, in order. A query is sent
 * to the thread once the one before it is answered, so that one whose caller hung up before its turn is dropped.
 */
class ReaderThread {
  private worker: Worker | undefined
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>()
  private readonly unsent: RecordsRequest[] = []
  private answering = false

  constructor(private readonly path: string) {}

  run<Q extends keyof RecordsQueries>(query: Q, args: Args<Q>, signal?: AbortSignal): Promise<Result<Q>> {
    if (signal?.aborted) return Promise.reject(clientClosedRequest())
    const worker = (this.worker ??= this.startWorker())
    const request: RecordsRequest = { id: this.nextId++, query, args }
    const hungUp = () => {
      const i = this.unsent.indexOf(request)
      if (i < 0) return
      this.unsent.splice(i, 1)
      this.settle(request.id, { reject: clientClosedRequest() })
    }
    return new Promise((resolve, reject) => {
      const forget = () => signal?.removeEventListener('abort', hungUp)
      this.pending.set(request.id, {
        resolve: (value) => {
          forget()
          resolve(value)
        },
        reject: (error) => {
          forget()
          reject(error)
        },
      })
      signal?.addEventListener('abort', hungUp, { once: true })
      this.unsent.push(request)
      worker.ref()
      this.sendNext()
    })
  }

  private sendNext() {
    if (this.answering || !this.worker) return
    const request = this.unsent.shift()
    if (!request) return
    this.answering = true
    this.worker.postMessage(request)
  }

  private settle(id: number, outcome: { resolve: unknown } | { reject: Error }) {
    const waiting = this.pending.get(id)
    if (!waiting) return
    this.pending.delete(id)
    if ('reject' in outcome) waiting.reject(outcome.reject)
    else waiting.resolve(outcome.resolve)
    // An idle reader does not keep the process alive.
    if (this.pending.size === 0) this.worker?.unref()
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./reader-worker.ts', import.meta.url).href)
    worker.postMessage({ path: this.path })
    worker.onmessage = (event: MessageEvent<RecordsReply>) => {
      const reply = event.data
      this.answering = false
      this.settle(reply.id, 'error' in reply ? { reject: new Error(`records query failed: ${reply.error}`) } : { resolve: reply.result })
      this.sendNext()
    }
    worker.onerror = (event) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`records reader failed: ${event.message}`))
      this.pending.clear()
      this.unsent.length = 0
      this.answering = false
      this.worker = undefined
      worker.terminate()
    }
    worker.unref()
    return worker
  }

  async stop(): Promise<void> {
    const worker = this.worker
    this.worker = undefined
    for (const waiting of this.pending.values()) waiting.reject(new Error('records reader stopped'))
    this.pending.clear()
    this.unsent.length = 0
    this.answering = false
    if (!worker) return
    const ended = new Promise((resolve) => worker.addEventListener('close', resolve, { once: true }))
    worker.terminate()
    let timer: Timer | undefined
    await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, READER_STOP_MS)))])
    clearTimeout(timer)
  }
}

import type { BunSQLDatabase } from 'drizzle-orm/bun-sql'
import type { RecordsReply, RecordsRequest } from './reader-worker'
import { recordsQueries, type RecordsQueries, type RecordsSource } from './usage-queries'

type Args<Q extends keyof RecordsQueries> = Parameters<RecordsQueries[Q]>[1]
type Result<Q extends keyof RecordsQueries> = Awaited<ReturnType<RecordsQueries[Q]>>

/** How long stopping the reader thread waits for it, and its connection, to be gone. */
export const READER_STOP_MS = 500

/** Where a store runs the records queries (src/records/usage-queries.ts). */
export interface RecordsReads {
  /** One query's answer, all of it read on one snapshot of the database. */
  run<Q extends keyof RecordsQueries>(query: Q, args: Args<Q>): Promise<Result<Q>>
  /** Ends the reads; resolves once their connection is gone, or after READER_STOP_MS. */
  stop(): Promise<void>
}

const runOn = <Q extends keyof RecordsQueries>(source: RecordsSource, query: Q, args: Args<Q>): Promise<Result<Q>> =>
  Promise.resolve().then(() => (recordsQueries[query] as unknown as (source: RecordsSource, args: unknown) => Promise<Result<Q>>)(source, args))

/**
 * The records queries on Postgres's records pool, which already answers off the request thread. Each answer
 * is one REPEATABLE READ, READ ONLY transaction: all its statements read one snapshot, as on the reader thread.
 */
export const directRecords = (db: BunSQLDatabase<Record<string, unknown>>, tables: RecordsSource['tables']): RecordsReads => ({
  run: (query, args) =>
    db.transaction((tx) => runOn({ db: tx as unknown as RecordsSource['db'], tables }, query, args), { isolationLevel: 'repeatable read', accessMode: 'read only' }),
  stop: async () => {},
})

/**
 * Runs the records queries (usage lists, totals, the summary, the request log, the console's aggregates)
 * on a thread of their own with a read-only connection, so that a query scanning millions of rows never
 * holds up the thread that answers /health and inference. WAL lets that connection read beside the
 * gateway's writes; callers flush queued writes first, and each query reads what was committed when it
 * began: all its statements in one read transaction (see reader-worker.ts). A database in memory cannot be opened twice: there the queries run on the caller's connection.
 * The thread starts with the first query, one query at a time, in order.
 */
export class RecordsReader implements RecordsReads {
  private worker: Worker | undefined
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>()

  constructor(
    private readonly source: RecordsSource,
    private readonly path: string,
  ) {}

  run<Q extends keyof RecordsQueries>(query: Q, args: Args<Q>): Promise<Result<Q>> {
    if (this.path === ':memory:' || this.path === '') return runOn(this.source, query, args)
    const worker = (this.worker ??= this.startWorker())
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ id, query, args } satisfies RecordsRequest)
      worker.ref()
    })
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./reader-worker.ts', import.meta.url).href)
    worker.postMessage({ path: this.path })
    worker.onmessage = (event: MessageEvent<RecordsReply>) => {
      const reply = event.data
      const waiting = this.pending.get(reply.id)
      if (!waiting) return
      this.pending.delete(reply.id)
      if ('error' in reply) waiting.reject(new Error(`records query failed: ${reply.error}`))
      else waiting.resolve(reply.result)
      // An idle reader does not keep the process alive.
      if (this.pending.size === 0) worker.unref()
    }
    worker.onerror = (event) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`records reader failed: ${event.message}`))
      this.pending.clear()
      this.worker = undefined
      worker.terminate()
    }
    worker.unref()
    return worker
  }

  /**
   * Ends the thread and resolves once it is gone, with its connection (or after READER_STOP_MS): a connection
   * still open on a read would keep the store's last checkpoint, on close, from cutting the WAL.
   */
  async stop(): Promise<void> {
    const worker = this.worker
    this.worker = undefined
    for (const waiting of this.pending.values()) waiting.reject(new Error('records reader stopped'))
    this.pending.clear()
    if (!worker) return
    const ended = new Promise((resolve) => worker.addEventListener('close', resolve, { once: true }))
    worker.terminate()
    let timer: Timer | undefined
    await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, READER_STOP_MS)))])
    clearTimeout(timer)
  }
}

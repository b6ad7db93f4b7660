/**
 * What a flood of unauthenticated requests writes to the request log: rows, and bytes the database file
 * grows by. Starts a gateway on a fresh file, sends N requests with a bad key from one source (a quarter
 * each to two routes, an unknown route, and unknown 200-character paths that differ every time;
 * `concurrency` at a time), stops it cleanly and measures the file: its pages in use, after a checkpoint.
 *
 *   bun bench/refused-log.ts [requests] [concurrency]
 */
import { Database } from 'bun:sqlite'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { configSchema } from '../src/config/schema'
import { startGateway } from '../src/server'
import { tempDir } from '../test/support/gateway'

const N = Number(process.argv[2] ?? 20_000)
const CONCURRENCY = Number(process.argv[3] ?? 32)
const ROUTES = ['/v1/chat/completions', '/v1/models', '/v1/nothing-here']
const pathOf = (i: number) => (i % 4 < 3 ? ROUTES[i % 4]! : `/v1/probe/${String(i).padStart(8, '0')}/${'x'.repeat(180)}`)

const dir = tempDir('tollgate-refused-')
const db = join(dir, 'tollgate.db')
const config = configSchema.parse({ master_key: 'bench-master-key-0123456789abcdef-0123', port: 0, db, log_level: 'silent' })

const sizeOf = () => {
  const d = new Database(db)
  d.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  const pages = d.query<{ n: number }, []>('SELECT (page_count - freelist_count) AS n FROM pragma_page_count(), pragma_freelist_count()').get()!.n
  const pageSize = d.query<{ page_size: number }, []>('PRAGMA page_size').get()!.page_size
  d.close()
  return { bytes: pages * pageSize, file: statSync(db).size }
}

const gw = await startGateway(config)
await gw.stop()
const before = sizeOf()

/** Bytes this process sent to storage (the database file and its WAL); Linux only. */
const storageWrites = () => Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN)

const again = await startGateway(config)
const writtenBefore = storageWrites()
const started = performance.now()
let next = 0
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const i = next++
      const res = await fetch(again.url + pathOf(i), {
        method: i % 2 ? 'GET' : 'POST',
        headers: { authorization: `Bearer tg-not-a-key-${i}` },
      })
      await res.arrayBuffer()
    }
  }),
)
const seconds = (performance.now() - started) / 1000
await again.stop()
const written = storageWrites() - writtenBefore

const after = sizeOf()
const d = new Database(db, { readonly: true })
const { rows, requests } = d
  .query<{ rows: number; requests: number }, []>(
    `SELECT count(*) AS rows, coalesce(sum(${hasColumn(d, 'count') ? 'count' : '1'}), 0) AS requests FROM api_request_log`,
  )
  .get()!
d.close()
rmSync(dir, { recursive: true, force: true })

console.log(`${N} unauthenticated requests in ${seconds.toFixed(1)} s (${Math.round(N / seconds)}/s), ${CONCURRENCY} at a time`)
console.log(`request log: ${rows} rows for ${requests} requests; database grew ${after.bytes - before.bytes} bytes (${((after.bytes - before.bytes) / N).toFixed(1)} B per request)`)
console.log(`written to storage (database and WAL, checkpoints included): ${written} bytes (${(written / N).toFixed(1)} B per request)`)

function hasColumn(d: Database, name: string): boolean {
  return d.query<{ name: string }, []>('PRAGMA table_info(api_request_log)').all().some((c) => c.name === name)
}

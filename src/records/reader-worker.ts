/**
 * The records reader's thread: its own read-only connection to the database file, answering one query
 * at a time. Nothing here writes, and nothing here can make the gateway's thread wait.
 */
import { Database } from 'bun:sqlite'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import * as schema from '../db/schema'
import { recordsQueries, type RecordsQueries, type RecordsSource } from './usage-queries'

declare const self: Worker

export interface RecordsRequest {
  id: number
  query: keyof RecordsQueries
  args: unknown
}

export type RecordsReply = { id: number; result: unknown } | { id: number; error: string }

let source: RecordsSource | undefined

self.onmessage = (event: MessageEvent<{ path: string } | RecordsRequest>) => {
  const message = event.data
  if ('path' in message) {
    const client = new Database(message.path, { readonly: true, strict: true })
    client.exec('PRAGMA busy_timeout = 5000')
    source = { db: drizzle({ client, schema }) as unknown as RecordsSource['db'], tables: schema }
    return
  }
  const run = recordsQueries[message.query] as (source: unknown, args: unknown) => Promise<unknown>
  Promise.resolve()
    .then(() => run(source, message.args))
    .then(
      (result) => self.postMessage({ id: message.id, result } satisfies RecordsReply),
      (error) => self.postMessage({ id: message.id, error: (error as Error).message } satisfies RecordsReply),
    )
}

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

let client: Database | undefined
let source: RecordsSource | undefined
/** The message being answered: the next one's statements start after its COMMIT. */
let turn = Promise.resolve()

/**
 * One message, one snapshot: its statements (a page and its totals, say) run in one read transaction, so that
 * a settlement the gateway commits between two of them is in all of the answer or in none of it.
 */
async function answer(message: RecordsRequest): Promise<RecordsReply> {
  const run = recordsQueries[message.query] as (source: unknown, args: unknown) => Promise<unknown>
  try {
    client!.exec('BEGIN')
    return { id: message.id, result: await run(source, message.args) }
  } catch (error) {
    return { id: message.id, error: (error as Error).message }
  } finally {
    // A failed statement may have ended the transaction already.
    if (client!.inTransaction) client!.exec('COMMIT')
  }
}

self.onmessage = (event: MessageEvent<{ path: string } | RecordsRequest>) => {
  const message = event.data
  if ('path' in message) {
    client = new Database(message.path, { readonly: true, strict: true })
    client.exec('PRAGMA busy_timeout = 5000')
    source = { db: drizzle({ client, schema }) as unknown as RecordsSource['db'], tables: schema }
    return
  }
  turn = turn.then(() => answer(message).then((reply) => self.postMessage(reply)))
}

import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'

export type StoredKind = 'response' | 'conversation'

export interface StoredResponse {
  id: string
  kind: StoredKind
  userId: string
  provider: string
  model: string
  contextTokens: number | null
}

interface Row {
  id: string
  kind: StoredKind
  user_id: string
  provider: string
  model: string
  context_tokens: number | null
}

/**
 * Who owns each response and conversation id a provider keeps for us (the `stored_responses` table).
 * Recording goes through the write queue like the request log; a lookup flushes it first, so an id is
 * found as soon as its creator has seen it. The first user to record an id keeps it.
 */
export class ResponseOwners {
  private readonly upsert: Statement<unknown, [string, string, string, string, string, number | null, number]>
  private readonly select: Statement<Row, [string, string]>
  private readonly remove: Statement<unknown, [string]>

  constructor(db: Database, private readonly queue: WriteQueue) {
    this.upsert = db.prepare(
      `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET context_tokens = coalesce(excluded.context_tokens, context_tokens)
       WHERE user_id = excluded.user_id`,
    )
    this.select = db.prepare('SELECT id, kind, user_id, provider, model, context_tokens FROM stored_responses WHERE id = ? AND kind = ?')
    this.remove = db.prepare('DELETE FROM stored_responses WHERE id = ?')
  }

  record(s: StoredResponse): void {
    this.queue.defer(() => this.upsert.run(s.id, s.kind, s.userId, s.provider, s.model, s.contextTokens, Date.now()))
  }

  /** The stored id, if `userId` owns it (null: any owner, for the master key). Anyone else is told it does not exist. */
  find(id: string, kind: StoredKind, userId: string | null): StoredResponse | null {
    this.queue.flush()
    const row = this.select.get(id, kind)
    if (!row || (userId !== null && row.user_id !== userId)) return null
    return { id: row.id, kind: row.kind, userId: row.user_id, provider: row.provider, model: row.model, contextTokens: row.context_tokens }
  }

  forget(id: string): void {
    this.queue.defer(() => this.remove.run(id))
  }
}

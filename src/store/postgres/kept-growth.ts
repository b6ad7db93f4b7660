import type { SQL, TransactionSQL } from 'bun'
import type { StoredResponseRow } from '../store'
import { BOUND_LOCK_WAITS, BOUND_LOCK_WAITS_PARAMS } from './batch'
import { idsOf, shareUsers } from './lock-order'
import { STORED_ROW_COLUMNS, writeStoredRow, type QueuedResponse } from './stored-rows'

/*
 * A conversation's growth kept back: a turn's answer withheld (paid, and kept by the provider) because a lock on
 * stored_responses (an index build, a LOCK TABLE) stops the write of its growth. The replica keeps the row queued and
 * announces it (KeptBackIds), but both end with the replica (killed -9, stopped past its grace), and later turns would
 * be held at the conversation's size before that turn. So the growth is also written to stored_response_growth, which
 * that lock does not reach, as the upsert that will apply it (stored-rows.ts): by a write that finds the lock held,
 * before it waits for it, and, if that did not land, before the answer is withheld. Nor does a lock on the turn's
 * user's row reach it (it has no foreign key to users: schema.ts), which stops the stored-id write as well: a replica
 * frozen mid-batch or an admin's change of the user holds the row FOR UPDATE, and the answer is withheld all the same.
 *
 * Whoever deletes such a row applies its growth, in the same transaction, so that it is applied once: the replica's
 * own write of the row (claimKeptGrowth), or a conversation lookup that finds it once nothing announces it any more
 * (adoptKeptGrowth: its replica is gone, or lost its announcement for a moment). A conversation with none, the usual
 * case, costs its lookup an EXISTS in the same query (PostgresStore.findResponse).
 */

/** Writes the growth of `rows` (conversations whose write a lock stops) to stored_response_growth, each once. */
export async function recordKeptGrowth(sql: SQL, rows: QueuedResponse[]): Promise<void> {
  for (const r of rows) r.kept_growth ??= { id: crypto.randomUUID(), recorded: false }
  const growth = rows.map((r) => ({
    id: r.kept_growth!.id, conversation: r.id, user: r.user_id, provider: r.provider, model: r.model, tokens: r.context_tokens, mediaParts: r.media_parts,
    bytes: r.context_bytes, audio: r.holds_audio, growTokens: r.grow_by!.tokens, growMediaParts: r.grow_by!.mediaParts, growBytes: r.grow_by!.bytes, at: r.created_at,
  }))
  await sql.begin(async (tx) => {
    await tx.unsafe(BOUND_LOCK_WAITS, BOUND_LOCK_WAITS_PARAMS)
    await tx`INSERT INTO stored_response_growth (id, conversation_id, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio,
        grow_tokens, grow_media_parts, grow_bytes, created_at)
      SELECT * FROM json_to_recordset(${JSON.stringify(growth)}::text::json) AS x(id text, conversation text, "user" text, provider text, model text,
        tokens bigint, "mediaParts" int, bytes bigint, audio boolean, "growTokens" bigint, "growMediaParts" int, "growBytes" bigint, at bigint)
      ON CONFLICT (id) DO NOTHING`
  })
  for (const r of rows) r.kept_growth!.recorded = true
}

/**
 * In the transaction writing `rows` (their users' rows locked): deletes the growth rows recorded for them. A growth
 * another transaction deleted first was applied by it: that row is written as a floor (no growth), adding nothing.
 * One whose recording was never answered may never have been written, and is applied.
 */
export async function claimKeptGrowth(tx: TransactionSQL, rows: QueuedResponse[]): Promise<void> {
  const kept = rows.filter((r) => r.kept_growth !== undefined)
  if (kept.length === 0) return
  const ids = JSON.stringify(kept.map((r) => r.kept_growth!.id))
  const claimed = new Set<string>(
    (await tx`DELETE FROM stored_response_growth WHERE id IN (SELECT json_array_elements_text(${ids}::text::json)) RETURNING id`).map((g: { id: string }) => g.id),
  )
  for (const r of kept) if (r.kept_growth!.recorded && !claimed.has(r.kept_growth!.id)) r.grow_by = { tokens: 0, mediaParts: 0, bytes: 0 }
}

/**
 * A conversation's row with every growth kept back for it applied (and those rows deleted), in one transaction: for a
 * lookup that found one. While a lock on stored_responses still stops the write, it is refused at once (NOWAIT,
 * 55P03), the lookup with it (503 database_busy, as while the growth's replica announced it): a lookup waiting for
 * that lock would be seen by every replica as a kept-back insert (KeptBackIds) and refuse other conversations too.
 */
export async function adoptKeptGrowth(sql: SQL, conversation: string): Promise<StoredResponseRow | null> {
  return sql.begin(async (tx) => {
    // The table's lock first, as its own writes take it, then users, then rows (lock-order.ts).
    await tx.unsafe('LOCK TABLE stored_responses IN ROW EXCLUSIVE MODE NOWAIT')
    const users = await shareUsers(tx, (await tx`SELECT user_id FROM stored_response_growth WHERE conversation_id = ${conversation}`).map((g: { user_id: string }) => g.user_id))
    // A growth whose user is gone goes too, unapplied: recorded after the user's deletion deleted the user's growth.
    const kept = await tx`DELETE FROM stored_response_growth g WHERE conversation_id = ${conversation}
      AND (user_id IN (SELECT json_array_elements_text(${idsOf(users)}::text::json)) OR NOT EXISTS (SELECT 1 FROM users WHERE id = g.user_id)) RETURNING *`
    const rows: QueuedResponse[] = kept
      .filter((g: { user_id: string }) => users.has(g.user_id))
      .map((g: Record<string, any>) => ({
        id: conversation, kind: 'conversation' as const, user_id: g.user_id, provider: g.provider, model: g.model, context_tokens: numberOrNull(g.context_tokens),
        media_parts: g.media_parts, context_bytes: numberOrNull(g.context_bytes), holds_audio: g.holds_audio, created_at: Number(g.created_at),
        grow_by: { tokens: Number(g.grow_tokens), mediaParts: g.grow_media_parts, bytes: Number(g.grow_bytes) },
      }))
      .sort((a: QueuedResponse, b: QueuedResponse) => a.created_at - b.created_at)
    for (const r of rows) await writeStoredRow(tx, r)
    const [row] = await tx.unsafe(`SELECT ${STORED_ROW_COLUMNS} FROM stored_responses WHERE id = $1 AND kind = 'conversation'`, [conversation])
    return row ?? null
  })
}

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

import type { TransactionSQL } from 'bun'
import type { StoredGrowth, StoredResponseRow } from '../store'

/**
 * A stored id queued for writing: recorded (its size set, or grown by `grow_by`), or forgotten with its items.
 * `kept_growth`: a conversation's growth also written to stored_response_growth, its answer withheld (kept-growth.ts).
 * `landed`: its write committed.
 */
export type QueuedResponse = StoredResponseRow & {
  created_at: number
  grow_by?: StoredGrowth
  forget?: true
  kept_growth?: { id: string; recorded: boolean }
  landed?: true
}

/** A row's write in stored_responses: its upsert, or with `forget` its delete (and its items'). */
export async function writeStoredRow(tx: TransactionSQL, r: QueuedResponse): Promise<void> {
  if (r.forget) await tx`DELETE FROM stored_responses WHERE id = ${r.id} OR (kind = 'item' AND expires_with = ${r.id})`
  else if (r.grow_by !== undefined)
    // GREATEST skips NULLs: the CASEs keep a size unknown unknown, as SQLite's max() does.
    await tx`
      INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, expires_with, created_at)
      VALUES (${r.id}, ${r.kind}, ${r.user_id}, ${r.provider}, ${r.model}, ${r.context_tokens}, ${r.media_parts}, ${r.context_bytes}, ${r.holds_audio}, ${r.expires_with ?? null}, ${r.created_at})
      ON CONFLICT (id) DO UPDATE SET context_tokens = CASE WHEN stored_responses.context_tokens IS NULL OR excluded.context_tokens IS NULL THEN NULL
        ELSE GREATEST(stored_responses.context_tokens + ${r.grow_by.tokens}, excluded.context_tokens) END,
        media_parts = CASE WHEN stored_responses.media_parts IS NULL OR excluded.media_parts IS NULL THEN NULL
        ELSE GREATEST(stored_responses.media_parts + ${r.grow_by.mediaParts}, excluded.media_parts) END,
        context_bytes = CASE WHEN stored_responses.context_bytes IS NULL OR excluded.context_bytes IS NULL THEN NULL
        ELSE GREATEST(stored_responses.context_bytes + ${r.grow_by.bytes}, excluded.context_bytes) END,
        holds_audio = stored_responses.holds_audio OR excluded.holds_audio,
        model = excluded.model
      WHERE stored_responses.user_id = excluded.user_id`
  else
    await tx`
      INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, expires_with, created_at)
      VALUES (${r.id}, ${r.kind}, ${r.user_id}, ${r.provider}, ${r.model}, ${r.context_tokens}, ${r.media_parts}, ${r.context_bytes}, ${r.holds_audio}, ${r.expires_with ?? null}, ${r.created_at})
      ON CONFLICT (id) DO UPDATE SET context_tokens = coalesce(excluded.context_tokens, stored_responses.context_tokens),
        media_parts = coalesce(excluded.media_parts, stored_responses.media_parts),
        context_bytes = coalesce(excluded.context_bytes, stored_responses.context_bytes),
        holds_audio = stored_responses.holds_audio OR excluded.holds_audio
      WHERE stored_responses.user_id = excluded.user_id`
}

/** The row's own columns, as a lookup returns it. */
export const STORED_ROW_COLUMNS = 'id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio'

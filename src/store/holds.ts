import type { HoldRequest, TakenHold } from '../budget/ledger'
import { recordedCount } from '../records/token-count'

const randomWords = new Uint32Array(2)

/**
 * A random positive integer below 2^53: exact in JavaScript, as a SQLite rowid and as a Postgres bigint.
 * A random id is never handed out again the way SQLite reuses the highest rowid once it is deleted, so a
 * late settlement cannot land on a newer hold.
 */
export function randomHoldId(): number {
  crypto.getRandomValues(randomWords)
  return (randomWords[0]! & 0x1f_ffff) * 0x1_0000_0000 + randomWords[1]! + 1
}

/** A row of the reservations table as either engine returns it (booleans as 0/1 or true/false, bigints as text). */
export interface ReservationRow {
  id: number
  request_id: string
  user_id: string
  key_id: string | null
  amount: number
  model: string
  provider: string
  endpoint: string
  price_id: number | null
  stream: number | boolean
  created_at: number
  key_debited: number | boolean
  /** NULL in a hold an older version wrote. */
  held_prompt_tokens: number | string | null
  held_completion_tokens: number | string | null
}

/** The hold a reservation row stands for (the sweeper's view: it has no owner's copy). */
export function takenFromRow(row: ReservationRow): TakenHold {
  const request: HoldRequest = {
    // The secret it was taken with is not kept: only the reservation's decision reads it.
    requestId: row.request_id, userId: row.user_id, keyId: row.key_id, keyHash: null, amount: Number(row.amount), model: row.model,
    provider: row.provider, endpoint: row.endpoint, priceId: row.price_id, stream: row.stream === 1 || row.stream === true,
    ...(row.held_prompt_tokens === null || row.held_completion_tokens === null
      ? {}
      : { heldTokens: { promptTokens: Number(row.held_prompt_tokens), completionTokens: Number(row.held_completion_tokens) } }),
  }
  return { id: Number(row.id), request, createdAt: Number(row.created_at), remainingAfter: null }
}

/**
 * The held tokens as a reservation row keeps them: whole numbers within MAX_TOKEN_COUNT, as a usage row records
 * them (a free model's hold prices any max output, Infinity included), so that both stores' integer columns take
 * them and no hold is refused for its counts.
 */
export const heldTokenColumns = (r: HoldRequest): [number, number] => [storedCount(r.heldTokens?.promptTokens), storedCount(r.heldTokens?.completionTokens)]

const storedCount = (n = 0): number => Math.round(recordedCount(n))

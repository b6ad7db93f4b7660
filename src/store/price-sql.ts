/**
 * The price table's queries, one text for both engines: `p(n)` writes the n-th parameter as each engine
 * spells it (`?n` for SQLite, `$n` for Postgres), `json(n)` one that holds JSON text.
 */
import type { ModelPriceRow, NewPriceRow, PriceRow } from './store'

interface Placeholders {
  /** `type`: for Postgres, where nothing else in the query says what the parameter is. */
  p(n: number, type?: 'text' | 'bigint'): string
  json(n: number): string
  /**
   * Whether the engine has LATERAL (Postgres): a LATERAL subquery with a LIMIT, which the planner cannot flatten,
   * keeps the walk of models the outer loop of the join and so the rows in model order. A plain join (or a LATERAL
   * one it flattens) Postgres's planner may hash, answering in the table's order: a page's last model then not the
   * greatest, and the next page, past it, skipped the models left. SQLite, which has no LATERAL, loops over the walk
   * first.
   */
  lateral?: boolean
}

/**
 * Row `q` applied at some time: it was not cancelled before its start. Unpricing a model marks its scheduled
 * rows deleted at that moment, before their start (a deletion of a row in force comes at or after it), so
 * such a row never applied and must not hide, end or be mistaken for the rows written after it.
 */
const APPLIED = `(q.deleted_at IS NULL OR q.deleted_at >= q.created_at)`

/**
 * Rows with the time each stopped applying: the start of the next row for its model that applied, if that came by its
 * deletion, else its deletion. (An unpricing deletes the rows in force on clocks behind too, a superseded one among them.)
 */
const RECORDS = `SELECT p.*, coalesce((
    SELECT min(q.created_at) FROM prices q
     WHERE q.model = p.model AND (q.created_at > p.created_at OR (q.created_at = p.created_at AND q.id > p.id)) AND ${APPLIED}
       AND (p.deleted_at IS NULL OR q.created_at <= p.deleted_at)
  ), p.deleted_at) AS ended_at
  FROM prices p`

/** The id of `model`'s row in force at `at` if it was not deleted: the latest to have started among those that applied. */
const inForceId = (model: string, at: string) =>
  `(SELECT id FROM prices q WHERE q.model = ${model} AND q.created_at <= ${at} AND ${APPLIED} ORDER BY q.created_at DESC, q.id DESC LIMIT 1)`

/**
 * The price in force of each model past `after` at `at`, by model. The models are walked through prices_model one
 * lookup each (the next model past the last), and each one's row is found there too: not the whole history of every
 * model, which a correlated subquery per row read (100,000 rows held the request thread ~200 ms). The walk is the
 * outer loop of the join (see Placeholders.lateral), read lazily, so a LIMIT after it reads a page, not every
 * model (an ORDER BY would sort the whole walk).
 */
const inForceFrom = (after: string, at: string, lateral = false) => `WITH RECURSIVE models(model) AS (
       SELECT min(model) FROM prices WHERE model > ${after}
       UNION ALL
       SELECT (SELECT min(q.model) FROM prices q WHERE q.model > models.model) FROM models WHERE models.model IS NOT NULL)
     SELECT p.* FROM models m ${lateral ? 'CROSS JOIN LATERAL (SELECT * FROM prices r WHERE r.id = ' + inForceId('m.model', at) + ' LIMIT 1) p' : 'JOIN prices p ON p.id = ' + inForceId('m.model', at)}
     WHERE p.deleted_at IS NULL`

export const priceSql = ({ p, json, lateral }: Placeholders) => ({
  // For each model, the latest row to have started among those that applied, unless it was deleted.
  current: inForceFrom("''", p(1), lateral),
  // A page of `current`: the models past p(2) ('' for the first), at most p(3) of them past the first p(4).
  page: `${inForceFrom(p(2, 'text'), p(1), lateral)} LIMIT ${p(3)} OFFSET ${p(4)}`,
  // One model's row in force at p(2) (all its columns null when none), and when its next scheduled row starts.
  ofModel: `SELECT p.*, (SELECT min(s.created_at) FROM prices s WHERE s.model = ${p(1, 'text')} AND s.created_at > ${p(2, 'bigint')} AND s.deleted_at IS NULL) AS next_start
     FROM (SELECT 1) AS asked LEFT JOIN prices p ON p.id = ${inForceId(p(1, 'text'), p(2, 'bigint'))} AND p.deleted_at IS NULL`,
  // For a change based on a row (PriceBase): the id of the row `current` finds for one model at p(2), if any; and
  // whether a row written after p(4) (a greater id) that applied starts after p(2) and by p(3).
  basedOnCheck: `SELECT (SELECT p.id FROM prices p
       WHERE p.id = ${inForceId(p(1), p(2))} AND p.deleted_at IS NULL) AS in_force,
     EXISTS (SELECT 1 FROM prices q WHERE q.model = ${p(1)} AND q.created_at > ${p(2)} AND q.created_at <= ${p(3)} AND q.id > ${p(4)} AND ${APPLIED}) AS written_since`,
  // Through prices_starts: the first row past p(1) among those not deleted.
  nextChange: `SELECT min(created_at) AS at FROM prices WHERE created_at > ${p(1)} AND deleted_at IS NULL`,
  insert: `INSERT INTO prices (model, input_per_million, output_per_million, cached_input_per_million, per_request,
       cache_write_per_million, cache_write_1h_per_million, audio_input_per_million, audio_output_per_million,
       server_tools, service_tiers, long_context_above_tokens, media_part_tokens, context_window_tokens, template_overhead_tokens, created_at, source, image_output_per_million)
     VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${json(10)}, ${json(11)}, ${p(12)}, ${p(13)}, ${p(14)}, ${p(15)}, ${p(16)}, ${p(17)}, ${p(18)}) RETURNING *`,
  // The rows in force at p(1) on this clock and on one as far behind as p(3) (PriceUnpricing): the one in force at
  // p(3) and those started since, marked deleted at p(1).
  markDeleted: `UPDATE prices SET deleted_at = ${p(1)}
     WHERE model = ${p(2)} AND deleted_at IS NULL AND (id = ${inForceId(p(2), p(3))} OR (created_at > ${p(3)} AND created_at <= ${p(1)}))
     RETURNING *`,
  // Unpricing a model also cancels the changes scheduled for it: unpriced means unpriced.
  cancelScheduled: `UPDATE prices SET deleted_at = ${p(1)} WHERE model = ${p(2)} AND created_at > ${p(1)} AND deleted_at IS NULL`,
  history: `${RECORDS} WHERE (${p(1, 'text')} IS NULL OR p.model = ${p(1, 'text')}) AND (${p(2, 'bigint')} IS NULL OR p.id < ${p(2, 'bigint')}) ORDER BY p.id DESC LIMIT ${p(3)} OFFSET ${p(4)}`,
  record: `${RECORDS} WHERE p.id = ${p(1)}`,
  countOf: `SELECT count(*) AS n FROM prices WHERE model = ${p(1)}`,
})

/** Of the rows an unpricing marked deleted, the one in force last: the latest to start. */
export const lastToStart = (rows: PriceRow[]): PriceRow | null =>
  rows.reduce<PriceRow | null>((last, r) => (!last || r.created_at > last.created_at || (r.created_at === last.created_at && r.id > last.id) ? r : last), null)

/** An `ofModel` answer: the columns of the row in force, every one null when there is none, and `next_start`. */
export type ModelPriceAnswer = { [K in keyof PriceRow]: PriceRow[K] | null } & { next_start: number | null }

export const modelPriceRow = ({ next_start, ...row }: ModelPriceAnswer): ModelPriceRow => ({
  inForce: row.id === null ? null : (row as PriceRow),
  nextStart: next_start,
})

export const priceInsertParams = (r: NewPriceRow) => [
  r.model, r.input_per_million, r.output_per_million, r.cached_input_per_million, r.per_request,
  r.cache_write_per_million, r.cache_write_1h_per_million, r.audio_input_per_million, r.audio_output_per_million,
  r.server_tools, r.service_tiers, r.long_context_above_tokens, r.media_part_tokens, r.context_window_tokens, r.template_overhead_tokens, r.created_at, r.source, r.image_output_per_million,
]

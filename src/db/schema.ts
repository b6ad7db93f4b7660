/**
 * The whole database. Money is integer micro-USD everywhere (1 USD = 1_000_000), times are unix
 * milliseconds. Change this file, then `npm run db:generate` and commit the migration it writes.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { EXPIRING_STORED_IDS } from './expiring-stored-ids'

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    alias: text('alias'),
    maxBudget: integer('max_budget'),
    budgetPeriod: text('budget_period', { enum: ['daily', 'weekly', 'monthly'] }),
    spend: integer('spend').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    periodStart: integer('period_start').notNull(),
    /**
     * The period a roll (a hold or settlement in a new period, or a new budget) ended, as it ended: its start, spend
     * and budget, for the budget alerts (src/alerts/watch.ts). Null until the first roll, and after a change of
     * period kind; the budget also for a roll before it was kept (an upgrade), and for a user without one.
     */
    lastPeriodStart: integer('last_period_start'),
    lastPeriodSpend: integer('last_period_spend'),
    lastPeriodBudget: integer('last_period_budget'),
    /**
     * When the budget was last set to another amount (src/store/budget-set.ts), and the ended period's as it ended:
     * the alerts' dedupe keys name it. Null for a budget as the user was created with (or set before this was kept).
     */
    budgetSetAt: integer('budget_set_at'),
    lastPeriodBudgetSetAt: integer('last_period_budget_set_at'),
    blocked: integer('blocked', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  // The users whose row has rolled to a period's start, by id: those the alert check judges an ended period of
  // (AlertRows.rolledUsersOver), found without walking every user.
  (t) => [index('users_period').on(t.budgetPeriod, t.periodStart, t.id)],
)

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name'),
    /** SHA-256 of the secret, hex. The secret itself is never stored. */
    keyHash: text('key_hash').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    expiresAt: integer('expires_at'),
    revokedAt: integer('revoked_at'),
    allowedModels: text('allowed_models', { mode: 'json' }).$type<string[]>(),
    maxBudget: integer('max_budget'),
    /** When the ceiling was last set to another amount, as a user's `budgetSetAt`. */
    budgetSetAt: integer('budget_set_at'),
    spend: integer('spend').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    rpmLimit: integer('rpm_limit'),
    /** What a body naming another user gets: `reject` (403) or `tag` (billed here, forwarded as the end-user tag); null: the global setting. */
    userField: text('user_field', { enum: ['reject', 'tag'] }),
    /** Lower the max output to what the budget covers instead of a 402; null: the global setting. */
    clampOutput: integer('clamp_output', { mode: 'boolean' }),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  // user_id, id: a user's keys in the order they are listed (GET /v1/keys?user_id=), read off the index rather than
  // sorted; expiring: the alert check's keys about to expire, among the live keys with an expiry, read a page at a
  // time by (expires_at, id) off the index (AlertRows.expiringKeys).
  (t) => [
    uniqueIndex('api_keys_hash').on(t.keyHash),
    index('api_keys_user_id').on(t.userId, t.id),
    index('api_keys_expiring').on(t.expiresAt, t.id).where(sql.raw('revoked_at IS NULL AND expires_at IS NOT NULL')),
  ],
)

/** Price history: the row in force for a model is its newest one created at or before the request. */
export const prices = sqliteTable(
  'prices',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    model: text('model').notNull(),
    inputPerMillion: integer('input_per_million').notNull(),
    outputPerMillion: integer('output_per_million').notNull(),
    cachedInputPerMillion: integer('cached_input_per_million'),
    perRequest: integer('per_request'),
    /** Prompt-cache writes, 5-minute and 1-hour lifetimes; null: billed by the fallback rule (src/pricing/price.ts). */
    cacheWritePerMillion: integer('cache_write_per_million'),
    cacheWrite1hPerMillion: integer('cache_write_1h_per_million'),
    audioInputPerMillion: integer('audio_input_per_million'),
    audioOutputPerMillion: integer('audio_output_per_million'),
    imageOutputPerMillion: integer('image_output_per_million'),
    /** Micro-USD per use, by server tool name: `{"web_search": 10000}`. */
    serverTools: text('server_tools', { mode: 'json' }).$type<Record<string, number>>(),
    /** Rate multipliers in thousandths, by service tier: `{"priority": 2000, "flex": 500}`. */
    serviceTiers: text('service_tiers', { mode: 'json' }).$type<Record<string, number>>(),
    /** Prompt tokens past which `service_tiers.long_context` applies to every request; null: only with Anthropic's context-1m, past 200K. */
    longContextAboveTokens: integer('long_context_above_tokens'),
    /** The most input tokens one media part (an image at any detail, an audio clip) bills on this model; null: the configured bound. */
    mediaPartTokens: integer('media_part_tokens'),
    /** This model's context window in input tokens: with hard bounds, a file by reference (a text file by id) is held at it; null: the PDF bound. */
    contextWindowTokens: integer('context_window_tokens'),
    /** The input this model's chat template writes on its own: with hard bounds, held once a request; null: the configured allowance. */
    templateOverheadTokens: integer('template_overhead_tokens'),
    /** When the row takes effect: its creation, or a later time given with it (a scheduled change). */
    createdAt: integer('created_at').notNull(),
    /** Where the price came from, e.g. the catalog package and version it was applied from; null when typed in. */
    source: text('source'),
    /** Set by DELETE: the model is unpriced from then on; the row stays for the usage rows that cite it. */
    deletedAt: integer('deleted_at'),
  },
  // model: a model's rows (the prices in force read one model at a time); starts: the next scheduled change.
  (t) => [index('prices_model').on(t.model, t.createdAt), index('prices_starts').on(t.createdAt).where(sql.raw('deleted_at IS NULL'))],
)

/**
 * An open hold on a user's (and key's) budget, removed by exactly one settlement. The id is a random
 * 53-bit integer chosen by the ledger: an integer key is cheap to insert on the hot path, and a random
 * one is never handed out again the way SQLite reuses the highest rowid once it is deleted, so a late
 * settlement cannot land on a newer hold (AUTOINCREMENT would also do that, at the price of rewriting
 * sqlite_sequence on every hold). No index on expiry: the table holds only open holds.
 */
export const reservations = sqliteTable('reservations', {
    id: integer('id').primaryKey(),
    requestId: text('request_id').notNull(),
    userId: text('user_id').notNull(),
    keyId: text('key_id'),
    amount: integer('amount').notNull(),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    endpoint: text('endpoint').notNull(),
    priceId: integer('price_id'),
    stream: integer('stream', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    /** The key's `reserved` carries the hold: only a key with a ceiling of its own is debited. */
    keyDebited: integer('key_debited', { mode: 'boolean' }).notNull().default(true),
    /** The tokens the hold priced (HoldRequest.heldTokens), what the sweeper records; NULL in a hold an older version wrote. */
    heldPromptTokens: integer('held_prompt_tokens'),
    heldCompletionTokens: integer('held_completion_tokens'),
})

/** The UTC day number of a usage row (unix ms / 86,400,000), as the daily rollups key it. */
export const USAGE_DAY = sql`created_at / 86400000`

/** Append-only, like the request log: a plain rowid (no AUTOINCREMENT bookkeeping on every row). */
export const usage = sqliteTable(
  'usage',
  {
    id: integer('id').primaryKey(),
    requestId: text('request_id').notNull(),
    createdAt: integer('created_at').notNull(),
    userId: text('user_id').notNull(),
    keyId: text('key_id'),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    endpoint: text('endpoint').notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    cachedTokens: integer('cached_tokens').notNull().default(0),
    cost: integer('cost').notNull(),
    reserved: integer('reserved').notNull(),
    priceId: integer('price_id'),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    latencyMs: integer('latency_ms').notNull().default(0),
    stream: integer('stream', { mode: 'boolean' }).notNull().default(false),
    /** The part of `prompt_tokens` written to the provider's prompt cache (billed at the cache-write rates). */
    cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
    /** Uses of billed server tools as JSON (`{"web_search":2}`), by the price book's names; null when none. */
    serverToolUses: text('server_tool_uses'),
  },
  (t) => [
    index('usage_user_time').on(t.userId, t.createdAt),
    index('usage_time').on(t.createdAt),
    index('usage_key_time').on(t.keyId, t.createdAt),
    // A model's rows newest first (`/v1/usage?model=`): without it, a model with few rows reads the whole table.
    index('usage_model').on(t.model, t.id),
    // A user's, a key's rows newest first, page after page (`/v1/usage?user_id=`, its CSV export): ordered by
    // time, each page read and sorted every row of theirs below its cursor, an export of n rows O(n²).
    index('usage_user_id').on(t.userId, t.id),
    index('usage_key_id').on(t.keyId, t.id),
    // The rows of a status other than ok, newest first: they are few, so this costs only the inserts that are
    // not ok. SQLite uses a partial index only for a query that says its condition (see usageFilter).
    index('usage_not_ok').on(t.status, t.id).where(sql`status <> 'ok'`),
  ],
)

/** What a daily rollup row sums: its usage rows' count, tokens and cost. */
const rollupSums = () => ({
  requests: integer('requests').notNull(),
  promptTokens: integer('prompt_tokens').notNull(),
  completionTokens: integer('completion_tokens').notNull(),
  cachedTokens: integer('cached_tokens').notNull(),
  cost: integer('cost').notNull(),
})

/**
 * The usage rows summed per UTC day (USAGE_DAY), user, key, model and status, so that the summary, totals and
 * charts read whole days here instead of every row. Kept by a trigger on `usage` in the same transaction as
 * each usage row, whatever writes it, and backfilled by the migration that made it (drizzle/0003_*). A row
 * with no key is summed under key '' (a unique index treats NULLs as distinct, so they could not be upserted).
 * The group index lists groups in the summary's order (day descending, user, model), so a page of it is read
 * in index order and stops at its limit.
 */
export const usageDaily = sqliteTable(
  'usage_daily',
  {
    day: integer('day').notNull(),
    userId: text('user_id').notNull(),
    keyId: text('key_id').notNull(),
    model: text('model').notNull(),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    ...rollupSums(),
  },
  (t) => [
    uniqueIndex('usage_daily_group').on(sql`${t.day} desc`, t.userId, t.model, t.keyId, t.status),
    index('usage_daily_user').on(t.userId, t.day),
    index('usage_daily_key').on(t.keyId, t.day),
  ],
)

/**
 * Two narrower rollups kept by the same trigger, for what the full one answers only by reading every group:
 * totals with no user or key filter and the per-model chart (day × model × status: ~100 rows a day), and the
 * per-user chart (day × user × status). A new index on a rollup is written only when a day's group first
 * appears, not on every usage row.
 */
export const usageDailyModels = sqliteTable(
  'usage_daily_models',
  {
    day: integer('day').notNull(),
    model: text('model').notNull(),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    ...rollupSums(),
  },
  (t) => [uniqueIndex('usage_daily_models_group').on(t.day, t.model, t.status)],
)

export const usageDailyUsers = sqliteTable(
  'usage_daily_users',
  {
    day: integer('day').notNull(),
    userId: text('user_id').notNull(),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    ...rollupSums(),
  },
  (t) => [uniqueIndex('usage_daily_users_group').on(t.day, t.userId, t.status), index('usage_daily_users_user').on(t.userId, t.day)],
)

/**
 * One row per /v1/* request, rejected ones included. Never a secret, never a body. Requests refused before
 * a key was known are aggregated: one row per source, route, method and status per interval, with `count`
 * requests from `created_at` (the first, whose id is `request_id`) to `last_at` (src/records/request-log.ts).
 */
export const apiRequestLog = sqliteTable(
  'api_request_log',
  {
    id: integer('id').primaryKey(),
    createdAt: integer('created_at').notNull(),
    requestId: text('request_id').notNull(),
    method: text('method').notNull(),
    route: text('route').notNull(),
    status: integer('status').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    clientIp: text('client_ip'),
    keyId: text('key_id'),
    userId: text('user_id'),
    count: integer('count').notNull().default(1),
    /** The last request an aggregated row counts; null for a row of one request. */
    lastAt: integer('last_at'),
  },
  (t) => [index('api_request_log_time').on(t.createdAt), index('api_request_log_key').on(t.keyId, t.createdAt)],
)

/**
 * Response and conversation ids a provider keeps state under, created through the gateway (and the containers and
 * chat audio answers it keeps, by their ids; `kind` is free text in both schemas, so a new kind needs no migration): every user
 * shares the provider's account, so an id is usable only by keys of the user that made it. The provider
 * and model say where the state lives; `context_tokens` (input + output of that response) is the context a
 * `previous_response_id` brings in, for the estimate, in the tokens of `model` (a conversation's: its latest
 * turn's, which sized it). `media_parts` is how many media and file parts that context holds (carried along the
 * chain), which another model may bill at its own rate; null for rows recorded before they were counted.
 * `context_bytes` is the bytes of that context's text, as the estimate counts them (carried along the chain
 * likewise): a token is at least a byte on any model, so they bound what another tokenizer makes of it.
 * `holds_audio` says the context holds audio (carried along the chain likewise), which the provider reads
 * again as audio input; null (it may hold some) for rows recorded before it was kept, and for those continuing one.
 */
export const storedResponses = sqliteTable(
  'stored_responses',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['response', 'conversation', 'item', 'container', 'audio'] }).notNull(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    contextTokens: integer('context_tokens'),
    mediaParts: integer('media_parts'),
    contextBytes: integer('context_bytes'),
    holdsAudio: integer('holds_audio', { mode: 'boolean' }),
    createdAt: integer('created_at').notNull(),
    /**
     * An item's response, when the provider forgets the item with it (DELETE, or its retention): null for an
     * item of a conversation's turn, which the conversation keeps, and for rows recorded before this was kept.
     */
    expiresWith: text('expires_with'),
  },
  // expiring: the retention prune's (src/records/stored-retention.ts), over the rows it may delete only, so that it
  // never steps over the kept ones; expires_with: a response's delete takes its items.
  (t) => [
    index('stored_responses_user').on(t.userId),
    index('stored_responses_expiring').on(t.createdAt).where(sql.raw(EXPIRING_STORED_IDS)),
    index('stored_responses_expires_with').on(t.expiresWith),
  ],
)

/**
 * The alert outbox. An alert is written once (its `dedupe_key` is what makes a threshold crossing or an
 * event raise it once, whichever process sees it first) and its id is the idempotency id every
 * delivery of it carries. Nothing is sent from a request: a background loop delivers what is due.
 */
export const alerts = sqliteTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    dedupeKey: text('dedupe_key').notNull(),
    kind: text('kind').notNull(),
    /** The user, key or model it is about. */
    subject: text('subject'),
    /** The JSON body sent to every webhook (with `text` for Slack). */
    payload: text('payload').notNull(),
    createdAt: integer('created_at').notNull(),
    /**
     * Until when a check may raise this alert again, which its row (its dedupe key) is what stops: the audit
     * retention's prune leaves it until then. Null: for as long as it exists (a lifetime budget's thresholds).
     */
    dedupeUntil: integer('dedupe_until'),
  },
  (t) => [uniqueIndex('alerts_dedupe').on(t.dedupeKey), index('alerts_time').on(t.createdAt), index('alerts_kind_time').on(t.kind, t.createdAt)],
)

/** One row per alert and configured webhook: pending until delivered, failed after the last attempt. */
export const alertDeliveries = sqliteTable(
  'alert_deliveries',
  {
    alertId: text('alert_id').notNull().references(() => alerts.id, { onDelete: 'cascade' }),
    webhook: text('webhook').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** When the next attempt is due; a claimed attempt pushes it past its own timeout (a lease). */
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    deliveredAt: integer('delivered_at'),
  },
  (t) => [
    primaryKey({ columns: [t.alertId, t.webhook] }),
    // A webhook's due deliveries (AlertRows.claimDue), not read past those of others: a webhook taken out of the
    // config leaves its own pending for ever.
    index('alert_deliveries_due').on(t.status, t.webhook, t.nextAttemptAt),
  ],
)

/**
 * A console sign-in (/ui). The id is an HMAC of the session token keyed with the master key: the token
 * itself is never stored, and a new master key matches no stored session, which ends them all. A key
 * session (read-only, self-service) ends with its key: revoked, rotated (`key_hash` no longer the key's),
 * expired, or deleted with its user.
 */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['admin', 'key'] }).notNull(),
    keyId: text('key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash'),
    createdAt: integer('created_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('console_sessions_key').on(t.keyId)],
)

/**
 * Refusals counted per UTC hour and error code, for the console's chart: the codes are the gateway's
 * own (a fixed set), so the table grows by at most a few rows an hour whatever clients send.
 */
export const refusalCounts = sqliteTable(
  'refusal_counts',
  {
    hour: integer('hour').notNull(),
    code: text('code').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.code] })],
)

/**
 * Models of configured providers that were asked for while unpriced (refused 402 pricing_required).
 * Bounded: the client chooses the model name, so past a fixed number of rows new names are not added.
 */
export const unpricedModels = sqliteTable('unpriced_models', {
  model: text('model').primaryKey(),
  requests: integer('requests').notNull(),
  firstSeenAt: integer('first_seen_at').notNull(),
  lastSeenAt: integer('last_seen_at').notNull(),
})

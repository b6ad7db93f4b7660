/**
 * The Postgres schema: the same tables, columns and indexes as src/db/schema.ts (SQLite), in drizzle's
 * pg dialect (drizzle cannot share one schema file between the two). Money is integer micro-USD and times
 * unix milliseconds, as there: `bigint` read as a JavaScript number (every amount stays below 2^53, see
 * MAX_REQUEST_MICROS). Change this file, then `npm run db:generate:pg` and commit the migration it writes.
 */
import { sql } from 'drizzle-orm'
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { EXPIRING_STORED_IDS } from '../../db/expiring-stored-ids'

const micros = (name: string) => bigint(name, { mode: 'number' })
const millis = (name: string) => bigint(name, { mode: 'number' })

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    alias: text('alias'),
    maxBudget: micros('max_budget'),
    budgetPeriod: text('budget_period', { enum: ['daily', 'weekly', 'monthly'] }),
    spend: micros('spend').notNull().default(0),
    reserved: micros('reserved').notNull().default(0),
    periodStart: millis('period_start').notNull(),
    lastPeriodStart: millis('last_period_start'),
    lastPeriodSpend: micros('last_period_spend'),
    lastPeriodBudget: micros('last_period_budget'),
    budgetSetAt: millis('budget_set_at'),
    lastPeriodBudgetSetAt: millis('last_period_budget_set_at'),
    blocked: boolean('blocked').notNull().default(false),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
  },
  // The users whose row has rolled to a period's start, by id: those the alert check judges an ended period of
  // (AlertRows.rolledUsersOver), found without walking every user.
  (t) => [index('users_period').on(t.budgetPeriod, t.periodStart, t.id)],
)

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name'),
    keyHash: text('key_hash').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    expiresAt: millis('expires_at'),
    revokedAt: millis('revoked_at'),
    allowedModels: jsonb('allowed_models').$type<string[]>(),
    maxBudget: micros('max_budget'),
    budgetSetAt: millis('budget_set_at'),
    spend: micros('spend').notNull().default(0),
    reserved: micros('reserved').notNull().default(0),
    rpmLimit: integer('rpm_limit'),
    userField: text('user_field', { enum: ['reject', 'tag'] }),
    clampOutput: boolean('clamp_output'),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
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

export const prices = pgTable(
  'prices',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    model: text('model').notNull(),
    inputPerMillion: micros('input_per_million').notNull(),
    outputPerMillion: micros('output_per_million').notNull(),
    cachedInputPerMillion: micros('cached_input_per_million'),
    perRequest: micros('per_request'),
    cacheWritePerMillion: micros('cache_write_per_million'),
    cacheWrite1hPerMillion: micros('cache_write_1h_per_million'),
    audioInputPerMillion: micros('audio_input_per_million'),
    audioOutputPerMillion: micros('audio_output_per_million'),
    imageOutputPerMillion: micros('image_output_per_million'),
    serverTools: jsonb('server_tools').$type<Record<string, number>>(),
    serviceTiers: jsonb('service_tiers').$type<Record<string, number>>(),
    longContextAboveTokens: integer('long_context_above_tokens'),
    mediaPartTokens: integer('media_part_tokens'),
    contextWindowTokens: integer('context_window_tokens'),
    templateOverheadTokens: integer('template_overhead_tokens'),
    createdAt: millis('created_at').notNull(),
    source: text('source'),
    deletedAt: millis('deleted_at'),
  },
  // model: a model's rows (the prices in force read one model at a time); starts: the next scheduled change.
  (t) => [index('prices_model').on(t.model, t.createdAt), index('prices_starts').on(t.createdAt).where(sql.raw('deleted_at IS NULL'))],
)

/** Open holds only; the id is the ledger's random 53-bit integer, as in SQLite. */
export const reservations = pgTable(
  'reservations',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    requestId: text('request_id').notNull(),
    userId: text('user_id').notNull(),
    keyId: text('key_id'),
    amount: micros('amount').notNull(),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    endpoint: text('endpoint').notNull(),
    priceId: integer('price_id'),
    stream: boolean('stream').notNull().default(false),
    createdAt: millis('created_at').notNull(),
    expiresAt: millis('expires_at').notNull(),
    keyDebited: boolean('key_debited').notNull().default(true),
    heldPromptTokens: bigint('held_prompt_tokens', { mode: 'number' }),
    heldCompletionTokens: bigint('held_completion_tokens', { mode: 'number' }),
  },
  // Unlike SQLite's, this table is swept by every replica at once, each claiming rows past their expiry.
  (t) => [index('reservations_expiry').on(t.expiresAt)],
)

export const usage = pgTable(
  'usage',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    requestId: text('request_id').notNull(),
    createdAt: millis('created_at').notNull(),
    userId: text('user_id').notNull(),
    keyId: text('key_id'),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    endpoint: text('endpoint').notNull(),
    promptTokens: bigint('prompt_tokens', { mode: 'number' }).notNull().default(0),
    completionTokens: bigint('completion_tokens', { mode: 'number' }).notNull().default(0),
    cachedTokens: bigint('cached_tokens', { mode: 'number' }).notNull().default(0),
    cost: micros('cost').notNull(),
    reserved: micros('reserved').notNull(),
    priceId: integer('price_id'),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    latencyMs: integer('latency_ms').notNull().default(0),
    stream: boolean('stream').notNull().default(false),
    cacheWriteTokens: bigint('cache_write_tokens', { mode: 'number' }).notNull().default(0),
    serverToolUses: text('server_tool_uses'),
  },
  (t) => [
    index('usage_user_time').on(t.userId, t.createdAt),
    index('usage_time').on(t.createdAt),
    index('usage_key_time').on(t.keyId, t.createdAt),
    index('usage_model').on(t.model, t.id),
    index('usage_user_id').on(t.userId, t.id),
    index('usage_key_id').on(t.keyId, t.id),
    index('usage_not_ok').on(t.status, t.id).where(sql`status <> 'ok'`),
  ],
)

const rollupSums = () => ({
  requests: bigint('requests', { mode: 'number' }).notNull(),
  promptTokens: bigint('prompt_tokens', { mode: 'number' }).notNull(),
  completionTokens: bigint('completion_tokens', { mode: 'number' }).notNull(),
  cachedTokens: bigint('cached_tokens', { mode: 'number' }).notNull(),
  cost: micros('cost').notNull(),
})

/** The daily rollups (see src/db/schema.ts); here a statement trigger keeps them (drizzle-pg/0003_usage_daily_trigger.sql). */
export const usageDaily = pgTable(
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
    uniqueIndex('usage_daily_group').on(t.day.desc(), t.userId, t.model, t.keyId, t.status),
    index('usage_daily_user').on(t.userId, t.day),
    index('usage_daily_key').on(t.keyId, t.day),
  ],
)

export const usageDailyModels = pgTable(
  'usage_daily_models',
  {
    day: integer('day').notNull(),
    model: text('model').notNull(),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    ...rollupSums(),
  },
  (t) => [uniqueIndex('usage_daily_models_group').on(t.day, t.model, t.status)],
)

export const usageDailyUsers = pgTable(
  'usage_daily_users',
  {
    day: integer('day').notNull(),
    userId: text('user_id').notNull(),
    status: text('status', { enum: ['ok', 'error', 'aborted', 'expired'] }).notNull(),
    ...rollupSums(),
  },
  (t) => [uniqueIndex('usage_daily_users_group').on(t.day, t.userId, t.status), index('usage_daily_users_user').on(t.userId, t.day)],
)

export const apiRequestLog = pgTable(
  'api_request_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    createdAt: millis('created_at').notNull(),
    requestId: text('request_id').notNull(),
    method: text('method').notNull(),
    route: text('route').notNull(),
    status: integer('status').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    clientIp: text('client_ip'),
    keyId: text('key_id'),
    userId: text('user_id'),
    count: integer('count').notNull().default(1),
    lastAt: millis('last_at'),
    /**
     * Postgres only: an aggregated row's interval, source, method, route pattern and status, so that the
     * replicas counting the same refusals add up in one row (an upsert on it). Null for a row of one request.
     */
    aggregateKey: text('aggregate_key'),
  },
  (t) => [
    index('api_request_log_time').on(t.createdAt),
    index('api_request_log_key').on(t.keyId, t.createdAt),
    uniqueIndex('api_request_log_aggregate').on(t.aggregateKey),
  ],
)

export const storedResponses = pgTable(
  'stored_responses',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['response', 'conversation', 'item', 'container', 'audio'] }).notNull(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    contextTokens: bigint('context_tokens', { mode: 'number' }),
    mediaParts: integer('media_parts'),
    contextBytes: bigint('context_bytes', { mode: 'number' }),
    holdsAudio: boolean('holds_audio'),
    createdAt: millis('created_at').notNull(),
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
 * Postgres only: the growth of a conversation whose answer was withheld while a lock on stored_responses (an index
 * build, a LOCK TABLE) kept it from being written, as its stored_responses upsert would apply it (see
 * src/store/postgres/kept-growth.ts). That lock does not reach this table, and a row here outlives the replica that
 * withheld the answer; it goes in the transaction that writes its growth into stored_responses. SQLite needs none:
 * its writers' lock is the file's, which stops this table's writes as much as stored_responses'.
 */
export const storedResponseGrowth = pgTable(
  'stored_response_growth',
  {
    /** Chosen by the replica before writing it, so that a write sent again lands once. */
    id: text('id').primaryKey(),
    conversationId: text('conversation_id').notNull(),
    /**
     * No foreign key to users: inserting a row under one takes FOR KEY SHARE on the user's row, which a transaction
     * holding it FOR UPDATE (a replica frozen mid-batch, an admin change) stops, as it stops the write this row is
     * kept for. A user's deletion deletes its rows here itself (deleteUser), and a row left by a recording that
     * committed after it is dropped when read (adoptKeptGrowth).
     */
    userId: text('user_id').notNull(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    /** The conversation's size as the turn knew it, a floor (null: unknown, as in stored_responses). */
    contextTokens: bigint('context_tokens', { mode: 'number' }),
    mediaParts: integer('media_parts'),
    contextBytes: bigint('context_bytes', { mode: 'number' }),
    holdsAudio: boolean('holds_audio'),
    /** What the turn added to the conversation. */
    growTokens: bigint('grow_tokens', { mode: 'number' }).notNull(),
    growMediaParts: integer('grow_media_parts').notNull(),
    growBytes: bigint('grow_bytes', { mode: 'number' }).notNull(),
    createdAt: millis('created_at').notNull(),
  },
  (t) => [index('stored_response_growth_conversation').on(t.conversationId)],
)

export const alerts = pgTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    dedupeKey: text('dedupe_key').notNull(),
    kind: text('kind').notNull(),
    subject: text('subject'),
    payload: text('payload').notNull(),
    createdAt: millis('created_at').notNull(),
    dedupeUntil: millis('dedupe_until'),
  },
  (t) => [uniqueIndex('alerts_dedupe').on(t.dedupeKey), index('alerts_time').on(t.createdAt), index('alerts_kind_time').on(t.kind, t.createdAt)],
)

export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    alertId: text('alert_id').notNull().references(() => alerts.id, { onDelete: 'cascade' }),
    webhook: text('webhook').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: millis('next_attempt_at').notNull(),
    lastError: text('last_error'),
    deliveredAt: millis('delivered_at'),
  },
  (t) => [
    primaryKey({ columns: [t.alertId, t.webhook] }),
    // A webhook's due deliveries (AlertRows.claimDue), not read past those of others: a webhook taken out of the
    // config leaves its own pending for ever.
    index('alert_deliveries_due').on(t.status, t.webhook, t.nextAttemptAt),
  ],
)

export const consoleSessions = pgTable(
  'console_sessions',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['admin', 'key'] }).notNull(),
    keyId: text('key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash'),
    createdAt: millis('created_at').notNull(),
    lastSeenAt: millis('last_seen_at').notNull(),
    expiresAt: millis('expires_at').notNull(),
  },
  (t) => [index('console_sessions_key').on(t.keyId)],
)

export const refusalCounts = pgTable(
  'refusal_counts',
  {
    hour: bigint('hour', { mode: 'number' }).notNull(),
    code: text('code').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.code] })],
)

export const unpricedModels = pgTable('unpriced_models', {
  model: text('model').primaryKey(),
  requests: bigint('requests', { mode: 'number' }).notNull(),
  firstSeenAt: millis('first_seen_at').notNull(),
  lastSeenAt: millis('last_seen_at').notNull(),
})

/**
 * Postgres's only: settlements a replica kept for users whose rows stayed held elsewhere until it stopped, with their
 * real cost (PostgresLedgerStore.close), by hold id, as the settlement's row in JSON. Written with no user row locked;
 * a sweep, on any replica, lands them, and never charges their holds in full. SQLite has no other session to hold a row.
 */
export const pendingSettlements = pgTable('pending_settlements', {
  holdId: bigint('hold_id', { mode: 'number' }).primaryKey(),
  settlement: text('settlement').notNull(),
  createdAt: millis('created_at').notNull(),
})

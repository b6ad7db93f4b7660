/**
 * The whole database. Money is integer micro-USD everywhere (1 USD = 1_000_000), times are unix
 * milliseconds. Change this file, then `npm run db:generate` and commit the migration it writes.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  alias: text('alias'),
  maxBudget: integer('max_budget'),
  budgetPeriod: text('budget_period', { enum: ['daily', 'weekly', 'monthly'] }),
  spend: integer('spend').notNull().default(0),
  reserved: integer('reserved').notNull().default(0),
  periodStart: integer('period_start').notNull(),
  blocked: integer('blocked', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

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
    spend: integer('spend').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    rpmLimit: integer('rpm_limit'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('api_keys_hash').on(t.keyHash), index('api_keys_user').on(t.userId)],
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
    createdAt: integer('created_at').notNull(),
    /** Set by DELETE: the model is unpriced from then on; the row stays for the usage rows that cite it. */
    deletedAt: integer('deleted_at'),
  },
  (t) => [index('prices_model').on(t.model, t.createdAt)],
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
})

/** The UTC day number of a usage row (unix ms / 86,400,000), as the console's day indexes spell it. */
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
  },
  (t) => [
    index('usage_user_time').on(t.userId, t.createdAt),
    index('usage_time').on(t.createdAt),
    index('usage_key_time').on(t.keyId, t.createdAt),
    // The console's daily spend by model and by user (and its overview totals): read in index order, a
    // day's groups come out already sorted, with their cost, so no row is read and nothing is sorted.
    // A query must say the day exactly as USAGE_DAY does for SQLite to use them.
    index('usage_day_model').on(USAGE_DAY, t.model, t.cost),
    index('usage_day_user').on(USAGE_DAY, t.userId, t.cost),
  ],
)

/** One row per /v1/* request, rejected ones included. Never a secret, never a body. */
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
  },
  (t) => [index('api_request_log_time').on(t.createdAt), index('api_request_log_key').on(t.keyId, t.createdAt)],
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

import { and, eq, isNull } from 'drizzle-orm'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { budgetUsd } from '../../pricing/price-amounts'
import { microsToUsd, optionalMicrosToUsd, optionalUsdToMicros } from '../../budget/money'
import type { apiKeys } from '../../db/schema'
import { badRequest, conflict, notFound } from '../../http/errors'
import { generateKey } from '../../keys/secret'
import type { Services } from '../../services'
import { forgettingChange } from '../../store/late-write'
import { PRICED_NAME_MAX_LENGTH, writtenModelName } from '../../providers/model-name'
import { pageQuery, toPage } from './pagination'
import { filterText, strictQuery } from './strict-query'

type KeyRow = typeof apiKeys.$inferSelect

const futureTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))
/** As long as a price's model may be: a model that can be priced can be allow-listed. */
const modelName = writtenModelName.min(1).max(PRICED_NAME_MAX_LENGTH)

const keySettings = {
  name: z.string().max(200).nullable().optional(),
  expires_at: futureTime.nullable().optional(),
  allowed_models: z.array(modelName).max(1000).nullable().optional(),
  max_budget: budgetUsd.nullable().optional(),
  rpm_limit: z.number().int().positive().max(1_000_000).nullable().optional(),
  /** A body naming another user (`user`, `metadata.user_id`): `reject` (403) or `tag`; null: TOLLGATE_REJECT_USER_MISMATCH decides. */
  user_field: z.enum(['reject', 'tag']).nullable().optional(),
  /** Lower the max output to what the budget covers instead of a 402; null: TOLLGATE_CLAMP_OUTPUT decides. */
  clamp_output: z.boolean().nullable().optional(),
}
// Strict: a misspelt field (say `max_budgte`) must not quietly create a key with no ceiling.
const createKey = z.object({ user_id: z.string().min(1).max(128), ...keySettings }).strict()
const updateKey = z.object(keySettings).strict()
const keyId = z.object({ id: z.string() })

/** Everything about a key except its secret, which exists only in the create and rotate answers. */
function presentKey(row: KeyRow) {
  return {
    id: row.id,
    key_prefix: row.keyPrefix,
    user_id: row.userId,
    name: row.name,
    expires_at: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
    allowed_models: row.allowedModels,
    max_budget: optionalMicrosToUsd(row.maxBudget),
    spend: microsToUsd(row.spend),
    reserved: microsToUsd(row.reserved),
    rpm_limit: row.rpmLimit,
    user_field: row.userField,
    clamp_output: row.clampOutput,
    created_at: new Date(row.createdAt).toISOString(),
  }
}

const newKeyId = () => `key_${Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex')}`

export const keyRoutes = (services: Services) => {
  const { keys, ledger, alerts, store, records } = services
  const { db, tables: { apiKeys, users } } = store
  const noKey = (id: string) => notFound(`No key with id ${JSON.stringify(id)}.`, 'key_not_found')
  const noUser = (id: string) => notFound(`No user with id ${JSON.stringify(id)}.`, 'user_not_found')
  const find = async (id: string) => {
    await ledger.flush()
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id))
    if (!row) throw noKey(id)
    return row
  }
  const checkExpiry = (expiresAt: number | null | undefined, now: number) => {
    if (expiresAt != null && expiresAt <= now) throw badRequest('Invalid body: expires_at: must be in the future')
  }
  /** Makes a change to the key, which every process forgets whether it was answered or not (forgettingChange). */
  const changingKey = <T>(id: string, change: () => Promise<T>): Promise<T> => forgettingChange(change, () => keys.invalidate(id))

  return new Elysia({ name: 'admin-keys' })
    .post(
      '/v1/keys',
      async ({ body, set }) => {
        const now = Date.now()
        checkExpiry(body.expires_at, now)
        if ((await db.select({ id: users.id }).from(users).where(eq(users.id, body.user_id))).length === 0) throw noUser(body.user_id)
        const { secret, hash, prefix } = generateKey()
        // The store finds the user again as it writes: another process may delete it while this waits for the lock.
        const row = await store.insertKey({
          id: newKeyId(),
          userId: body.user_id,
          name: body.name ?? null,
          keyHash: hash,
          keyPrefix: prefix,
          expiresAt: body.expires_at ?? null,
          allowedModels: body.allowed_models ?? null,
          maxBudget: optionalUsdToMicros(body.max_budget) ?? null,
          rpmLimit: body.rpm_limit ?? null,
          userField: body.user_field ?? null,
          clampOutput: body.clamp_output ?? null,
          createdAt: now,
          updatedAt: now,
        })
        if (!row) throw noUser(body.user_id)
        set.status = 201
        return { ...presentKey(row), key: secret }
      },
      { body: createKey, parse: 'json', detail: { tags: ['keys'], summary: 'Create a key for a user; the secret is shown only in this answer' } },
    )
    .get(
      '/v1/keys',
      async ({ query }) => {
        await ledger.flush()
        const rows = await records.run('keyRows', { userId: query.user_id, cursor: query.cursor, limit: query.limit + 1, offset: query.offset ?? 0 })
        return toPage(rows, query.limit, (r) => ({ ...presentKey(r), user_blocked: r.userBlocked }), (r) => r.id)
      },
      {
        query: strictQuery({ ...pageQuery, user_id: filterText.optional() }),
        detail: {
          tags: ['keys'],
          summary: 'List keys (never their secrets)',
          description:
            'user_blocked: the key\'s user is blocked: its billed and free calls are refused 403 `user_blocked` (a revoked or expired key is refused 401 first); `GET /v1/models` and `GET /v1/key` still answer.',
        },
      },
    )
    .get('/v1/keys/:id', async ({ params }) => presentKey(await find(params.id)), {
      params: keyId,
      detail: { tags: ['keys'], summary: 'Get a key' },
    })
    .patch(
      '/v1/keys/:id',
      async ({ params, body }) => {
        await find(params.id) // an unknown key answers 404 before its expiry is checked
        const now = Date.now()
        checkExpiry(body.expires_at, now)
        const changes: Partial<KeyRow> = { updatedAt: now }
        if (body.name !== undefined) changes.name = body.name
        if (body.expires_at !== undefined) changes.expiresAt = body.expires_at
        if (body.allowed_models !== undefined) changes.allowedModels = body.allowed_models
        if (body.max_budget !== undefined) changes.maxBudget = optionalUsdToMicros(body.max_budget) ?? null
        if (body.rpm_limit !== undefined) changes.rpmLimit = body.rpm_limit
        if (body.user_field !== undefined) changes.userField = body.user_field
        if (body.clamp_output !== undefined) changes.clampOutput = body.clamp_output
        // Any holds the key has that its ceiling does not carry yet are taken over in the store's transaction:
        // decided there, not from the row read above, which a concurrent change may already have made stale.
        const row = await changingKey(params.id, () => store.updateKey(params.id, changes, changes.maxBudget != null, now))
        // Deleted since it was read (its user deleted by another process while this waited for the lock).
        if (!row) throw noKey(params.id)
        return presentKey(row)
      },
      { params: keyId, body: updateKey, parse: 'json', detail: { tags: ['keys'], summary: 'Change a key’s name, expiry, models, budget, rate limit, user-field policy or output clamp' } },
    )
    .delete(
      '/v1/keys/:id',
      async ({ params }) => {
        await find(params.id) // an unknown key answers 404, not a revocation of nothing
        const now = Date.now()
        // key_revoked is written with the revocation, in its transaction (see Alerts.keyRevoked).
        const revoked = await changingKey(params.id, () => store.revokeKey(params.id, now, (row) => alerts.keyRevoked(row, now)))
        if (revoked) alerts.deliver()
        const row = revoked ?? (await find(params.id))
        return presentKey(row)
      },
      { params: keyId, detail: { tags: ['keys'], summary: 'Revoke a key (it answers 401 from now on)' } },
    )
    .post(
      '/v1/keys/:id/rotate',
      async ({ params }) => {
        const current = await find(params.id)
        if (current.revokedAt !== null) throw conflict('A revoked key cannot be rotated; create a new one.')
        const { secret, hash, prefix } = generateKey()
        // The old secret stops working now: its cache entry goes with the invalidation.
        const [row] = await changingKey(params.id, () =>
          store.write((db) =>
            db
              .update(apiKeys)
              .set({ keyHash: hash, keyPrefix: prefix, updatedAt: Date.now() })
              // Not a key revoked since it was read: its new secret would be shown and then refused.
              .where(and(eq(apiKeys.id, params.id), isNull(apiKeys.revokedAt)))
              .returning(),
          ),
        )
        if (!row) {
          await find(params.id)
          throw conflict('A revoked key cannot be rotated; create a new one.')
        }
        return { ...presentKey(row), key: secret }
      },
      { params: keyId, detail: { tags: ['keys'], summary: 'Replace a key’s secret; the new one is shown only in this answer' } },
    )
}

/**
 * The admin commands: each one admin API call (or a list of them), shown as a table or a record, or
 * as the API's JSON with `--json`.
 */
import { AdminApiError, type AdminApi, type ListPage } from './admin-api'
import { noArguments, UsageError, type Args } from './args'
import { catalogCommand } from './catalog-command'
import { bodyFrom, queryFrom, type Field } from './fields'
import { basedOn, carriedPriceFields, keptFieldsText } from './price-carry'

export type Shown =
  /** `error`: what went wrong part way (rows shown, some not written): printed after them, and the CLI exits 1. */
  | { table: Record<string, unknown>[]; columns: string[]; json: unknown; footer?: string; error?: string }
  | { record: Record<string, unknown>; json: unknown; note?: string; lost?: string }

interface Command {
  usage: string
  summary: string
  run(api: AdminApi, args: Args): Promise<Shown>
}

const userFields: Field[] = [
  { option: 'alias', field: 'alias', kind: 'text', help: 'a display name' },
  { option: 'budget', field: 'max_budget', kind: 'usd', help: 'USD per period, or none' },
  { option: 'period', field: 'budget_period', kind: 'text', help: 'daily | weekly | monthly | none' },
  { option: 'blocked', field: 'blocked', kind: 'boolean', help: 'true | false' },
]

const keyFields: Field[] = [
  { option: 'name', field: 'name', kind: 'text', help: 'a label' },
  { option: 'budget', field: 'max_budget', kind: 'usd', help: 'lifetime ceiling in USD, or none' },
  { option: 'expires', field: 'expires_at', kind: 'time', help: 'ISO date and time, or none' },
  { option: 'models', field: 'allowed_models', kind: 'list', help: 'comma-separated provider:model or aliases; all: every model; none: no model' },
  { option: 'rpm', field: 'rpm_limit', kind: 'integer', help: 'requests per minute, or none' },
]

const priceFields: Field[] = [
  { option: 'input', field: 'input_per_million', kind: 'usd', help: 'USD per million input tokens' },
  { option: 'output', field: 'output_per_million', kind: 'usd', help: 'USD per million output tokens' },
  { option: 'cached-input', field: 'cached_input_per_million', kind: 'usd', help: 'USD per million cached input tokens' },
  { option: 'per-request', field: 'per_request', kind: 'usd', help: 'USD per request (audio, moderation)' },
]

const USER_COLUMNS = ['id', 'alias', 'max_budget', 'budget_period', 'spend', 'reserved', 'remaining', 'blocked']
const KEY_COLUMNS = ['id', 'user_id', 'name', 'key_prefix', 'max_budget', 'spend', 'rpm_limit', 'expires_at', 'revoked_at']
const PRICE_COLUMNS = ['model', 'input_per_million', 'output_per_million', 'cached_input_per_million', 'per_request', 'effective_from']
const USAGE_COLUMNS = ['created_at', 'user_id', 'key_id', 'model', 'status', 'prompt_tokens', 'completion_tokens', 'cost']
const SUMMARY_COLUMNS = ['day', 'user_id', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'cost']
const USAGE_FILTERS = { user: 'user_id', key: 'key_id', model: 'model', since: 'since', until: 'until', limit: 'limit' }

const enc = encodeURIComponent
/** A list's rows as a table; with `--json`, the API's answer, `next_cursor` and all. */
const table = (page: ListPage, columns: string[]): Shown => ({ table: page.data, columns, json: page })
const record = (r: any, note?: string): Shown => ({ record: r, json: r, note })

function one(args: Args, what: string): string {
  const [id, extra] = args.positional
  if (!id) throw new UsageError(`name the ${what}`)
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)
  return id
}

function none(args: Args): void {
  if (args.options.size > 0) throw new UsageError(`unknown option --${args.options.keys().next().value}`)
}

/** A list command: its filters as options, one page unless `--all`. */
const list = (path: string, columns: string[], filters: Record<string, string>) => async (api: AdminApi, args: Args) => {
  noArguments(args)
  return table(await api.page(path, queryFrom(args, { limit: 'limit', ...filters }), args.switches.has('all')), columns)
}

const SECRET_NOTE = 'The key above is shown only this once: store it now.'

/** A key with its new secret; `lost`: what to say if it cannot be written out, as the key is live all the same. */
const withSecret = (key: any): Shown => ({
  ...record(key, SECRET_NOTE),
  lost: `key ${JSON.stringify(key.id)} exists, but its secret was written nowhere: rotate it (tollgate keys rotate ${key.id}) for a new one, or revoke it (tollgate keys revoke ${key.id})`,
})

/** The price in force for a model (a row scheduled for later is not), or null for a model with none. */
async function priceInForce(api: AdminApi, model: string): Promise<Record<string, unknown> | null> {
  try {
    return await api.call('GET', `/v1/pricing/${enc(model)}`)
  } catch (error) {
    if (error instanceof AdminApiError && error.status === 404) return null
    throw error
  }
}

function keptNote(model: string, inForce: Record<string, unknown> | null, kept: Record<string, unknown>): string {
  if (!inForce) return `No price in force for ${model}: nothing kept.`
  const lines = keptFieldsText(kept)
  if (!lines.length) return 'Nothing else to keep from the row in force.'
  return [`Kept from the row in force (id ${inForce.id}, since ${inForce.effective_from}):`, ...lines.map((l) => `  ${l}`)].join('\n')
}

export const commands: Record<string, Record<string, Command>> = {
  users: {
    list: { usage: 'users list [--limit N] [--all]', summary: 'list users', run: list('/v1/users', USER_COLUMNS, {}) },
    get: { usage: 'users get ID', summary: 'one user, with spend and remaining budget', run: async (api, a) => (none(a), record(await api.call('GET', `/v1/users/${enc(one(a, 'user'))}`))) },
    create: {
      usage: 'users create ID [--alias A] [--budget USD] [--period daily|weekly|monthly] [--blocked true]',
      summary: 'create a user (the billing identity)',
      run: async (api, a) => record(await api.call('POST', '/v1/users', { id: one(a, 'user'), ...bodyFrom(a, userFields) })),
    },
    update: {
      usage: 'users update ID [--alias A] [--budget USD|none] [--period P|none] [--blocked true|false]',
      summary: 'change a user',
      run: async (api, a) => record(await api.call('PATCH', `/v1/users/${enc(one(a, 'user'))}`, bodyFrom(a, userFields))),
    },
    block: { usage: 'users block ID', summary: 'refuse every request the user would pay for', run: async (api, a) => (none(a), record(await api.call('PATCH', `/v1/users/${enc(one(a, 'user'))}`, { blocked: true }))) },
    unblock: { usage: 'users unblock ID', summary: 'serve the user again', run: async (api, a) => (none(a), record(await api.call('PATCH', `/v1/users/${enc(one(a, 'user'))}`, { blocked: false }))) },
    delete: { usage: 'users delete ID', summary: 'delete a user and its keys (its usage rows stay)', run: async (api, a) => (none(a), record(await api.call('DELETE', `/v1/users/${enc(one(a, 'user'))}`))) },
    usage: {
      usage: 'users usage ID [--since T] [--until T] [--model M] [--key K] [--limit N] [--all]',
      summary: "a user's usage rows, newest first",
      run: async (api, a) => {
        const id = one(a, 'user')
        const { user: _user, ...filters } = USAGE_FILTERS
        return table(await api.page(`/v1/users/${enc(id)}/usage`, queryFrom(a, filters), a.switches.has('all')), USAGE_COLUMNS)
      },
    },
  },
  keys: {
    list: { usage: 'keys list [--user ID] [--limit N] [--all]', summary: 'list keys (never their secrets)', run: list('/v1/keys', KEY_COLUMNS, { user: 'user_id' }) },
    get: { usage: 'keys get ID', summary: 'one key', run: async (api, a) => (none(a), record(await api.call('GET', `/v1/keys/${enc(one(a, 'key'))}`))) },
    create: {
      usage: 'keys create USER_ID [--name N] [--budget USD] [--expires T] [--models a,b|all|none] [--rpm N]',
      summary: 'create a key for a user; its secret is shown once',
      run: async (api, a) => withSecret(await api.call('POST', '/v1/keys', { user_id: one(a, 'user'), ...bodyFrom(a, keyFields) })),
    },
    update: {
      usage: 'keys update ID [--name N] [--budget USD|none] [--expires T|none] [--models a,b|all|none] [--rpm N|none]',
      summary: 'change a key',
      run: async (api, a) => record(await api.call('PATCH', `/v1/keys/${enc(one(a, 'key'))}`, bodyFrom(a, keyFields))),
    },
    rotate: { usage: 'keys rotate ID', summary: 'replace the secret; the old one stops working at once', run: async (api, a) => (none(a), withSecret(await api.call('POST', `/v1/keys/${enc(one(a, 'key'))}/rotate`))) },
    revoke: { usage: 'keys revoke ID', summary: 'revoke a key', run: async (api, a) => (none(a), record(await api.call('DELETE', `/v1/keys/${enc(one(a, 'key'))}`))) },
  },
  prices: {
    list: { usage: 'prices list [--limit N] [--all]', summary: 'the price in force for every priced model', run: list('/v1/pricing', PRICE_COLUMNS, {}) },
    get: { usage: 'prices get MODEL', summary: "a model's price in force", run: async (api, a) => (none(a), record(await api.call('GET', `/v1/pricing/${enc(one(a, 'model'))}`))) },
    set: {
      usage: 'prices set PROVIDER:MODEL --input USD --output USD [--cached-input USD|none] [--per-request USD|none]',
      summary: 'price a model from now on (USD per million tokens), keeping every field of the row in force it does not name (printed; none unsets one); history is kept',
      run: async (api, a) => {
        const model = one(a, 'model')
        const offered = bodyFrom(a, priceFields)
        const inForce = await priceInForce(api, model)
        // Options left out keep their value too (`none` unsets one): a set changes what it names.
        const kept = carriedPriceFields(inForce, Object.keys(offered))
        // Refused (409) if another change of the model comes between the read and the write: its rates would be undone.
        const body = { ...kept, model, ...offered, based_on: basedOn(inForce) }
        return record(await api.call('POST', '/v1/pricing', body), keptNote(model, inForce, kept))
      },
    },
    delete: { usage: 'prices delete MODEL', summary: 'unprice a model and cancel its scheduled prices (refused from then on while pricing is required)', run: async (api, a) => (none(a), record(await api.call('DELETE', `/v1/pricing/${enc(one(a, 'model'))}`))) },
    catalog: {
      usage: 'prices catalog [--models a,b] [--apply] [--allow-unbilled] [--allow-free]',
      summary: 'the price book against the price catalog (new, changed, unchanged, skipped, no price in catalog); --apply writes the new and changed rows, not those with a charge tollgate cannot bill unless --allow-unbilled, nor a model the catalog states no rate for unless named with --models and --allow-free (written free)',
      run: catalogCommand,
    },
    'forget-unpriced': {
      usage: 'prices forget-unpriced MODEL | --all',
      summary: "forget a model (or every one) recorded as asked for while unpriced, so that `prices catalog` no longer lists it; asked for again, it is recorded again",
      run: async (api, a) => {
        none(a)
        const query = a.switches.has('all') ? (noArguments(a), 'all=true') : `model=${enc(one(a, 'model'))}`
        return record(await api.call('DELETE', `/v1/pricing/unpriced?${query}`))
      },
    },
    history: {
      usage: 'prices history [--model M] [--limit N] [--all]',
      summary: 'every price row, superseded and deleted ones included',
      run: list('/v1/pricing/history', [...PRICE_COLUMNS, 'effective_until', 'deleted_at'], { model: 'model' }),
    },
  },
  usage: {
    list: { usage: 'usage list [--user ID] [--key ID] [--model M] [--since T] [--until T] [--limit N] [--all]', summary: 'usage rows, newest first', run: list('/v1/usage', USAGE_COLUMNS, USAGE_FILTERS) },
    summary: {
      usage: 'usage summary [--user ID] [--key ID] [--model M] [--since T] [--until T] [--limit N] [--all]',
      summary: 'totals by UTC day, user and model, and grand totals',
      run: async (api, a) => {
        noArguments(a)
        const page = await api.page('/v1/usage/summary', queryFrom(a, USAGE_FILTERS), a.switches.has('all'))
        return { table: [...page.data, { day: 'total', ...(page.totals as object) }], columns: SUMMARY_COLUMNS, json: page }
      },
    },
  },
}

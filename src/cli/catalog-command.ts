/**
 * `tollgate prices catalog`: the price book against the catalog, for the models the gateway is asked
 * for — priced ones, alias targets, those refused for lack of a price, and any named — of each provider
 * the operator has tied to a catalog provider. A diff unless told `--apply`; then one new row per new or
 * changed price (and per dated change), through the admin API, each citing the catalog and its version.
 * A price with a charge tollgate cannot bill is skipped, so the model stays as it is (refused, if unpriced),
 * unless told `--allow-unbilled`; so is a model the catalog states no rate for, unless the operator names it
 * with `--models` and says `--allow-free`.
 */
import { AdminApiError, type AdminApi } from './admin-api'
import { noArguments, UsageError, type Args } from './args'
import type { Shown } from './commands'
import { catalogEntry, catalogSource, type CatalogRow, type PriceFields } from './price-catalog'
import { basedOn } from './price-carry'
import { pricedModelName } from '../providers/model-name'

type Status = 'new' | 'changed' | 'unchanged' | 'scheduled' | 'skipped' | 'no price in catalog' | 'not in catalog' | 'no catalog provider'

interface Line {
  model: string
  status: Status
  effective_from: string | null
  changes: string
  catalog_model: string | null
  notes: string[]
  /** The row to write with --apply. */
  write?: Record<string, unknown>
}

const FIELDS: (keyof PriceFields)[] = [
  'input_per_million', 'output_per_million', 'cached_input_per_million', 'cache_write_per_million',
  'cache_write_1h_per_million', 'audio_input_per_million', 'audio_output_per_million', 'image_output_per_million', 'per_request', 'long_context_above_tokens',
]

export async function catalogCommand(api: AdminApi, args: Args): Promise<Shown> {
  // `prices catalog apply` (dashes forgotten) must not show a diff and exit 0 as if the import were done.
  noArguments(args)
  for (const name of args.options.keys()) if (name !== 'models') throw new UsageError(`unknown option --${name}`)
  const named = (args.options.get('models') ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (args.switches.has('allow-free') && !named.length) throw new UsageError('--allow-free applies to the models named with --models: name them')
  const providers: { name: string; catalog: string | null; aliases: Record<string, string> }[] = await api.list('/v1/providers', {}, false)
  // A Map, not an object: a name given with --models (`constructor`) must not find an Object.prototype member.
  const aliases = new Map(providers.flatMap((p) => Object.entries(p.aliases)))
  const canonical = (name: string) => colon(aliases.get(name) ?? name)

  const priced: any[] = await api.list('/v1/pricing', { limit: '1000' }, true)
  const history: any[] = await api.list('/v1/pricing/history', { limit: '1000' }, true)
  // The gateway's bounded record of models of configured providers refused for lack of a price.
  const refused: { model: string }[] = await api.list('/v1/pricing/unpriced', {}, false)
  const allowUnbilled = args.switches.has('allow-unbilled')
  // Only models the operator names: the refused ones listed too are any a key holder asked for.
  const vouchedFree = new Set(args.switches.has('allow-free') ? named.map(canonical) : [])
  const models = [...new Set([...priced.map((p) => p.model), ...aliases.values(), ...refused.map((r) => r.model), ...named].map(canonical))].sort()

  const catalogOf = new Map(providers.map((p) => [p.name, p.catalog]))
  const current = new Map(priced.map((p) => [p.model, p]))
  const now = Date.now()
  // Rows yet to take effect, but not one the price book will never apply: of rows with one effective time, the
  // newest is the one in force (the others end as they start).
  const scheduled = history.filter((h) =>
    !h.deleted_at && Date.parse(h.effective_from) > now && (h.effective_until === null || Date.parse(h.effective_until) > Date.parse(h.effective_from)))
  const source = catalogSource()

  const lines: Line[] = []
  for (const model of models) {
    // A name a key holder asked for that no price can be written for (a trailing space, a zero-width space, past 256
    // characters: a name named with --models), which the catalog may still match by prefix: POSTed, the admin API would refuse it 400.
    const refusal = pricedModelName.safeParse(model).error?.issues[0]?.message
    if (refusal) {
      lines.push({ model, status: 'skipped', effective_from: null, changes: `the admin API refuses a price for this name: ${refusal}`, catalog_model: null, notes: [] })
      continue
    }
    const [provider, id] = [model.slice(0, model.indexOf(':')), model.slice(model.indexOf(':') + 1)]
    const catalog = catalogOf.get(provider)
    if (!catalog) {
      lines.push({ model, status: 'no catalog provider', effective_from: null, changes: '', catalog_model: null, notes: [] })
      continue
    }
    const entry = catalogEntry(catalog, id, new Date(now))
    if (!entry) {
      lines.push({ model, status: 'not in catalog', effective_from: null, changes: '', catalog_model: null, notes: [] })
      continue
    }
    const cite = `${source} ${catalog}/${entry.catalogModel}`
    const ours = scheduled.filter((s) => s.model === model).sort((a, b) => Date.parse(a.effective_from) - Date.parse(b.effective_from))
    const changeTimes = new Set(entry.rows.slice(1).map(changeTime))
    const dated = [
      ...entry.rows.slice(1).map((row) => ({ at: new Date(changeTime(row)).toISOString(), shown: row.effectiveFrom!, row })),
      // A row scheduled at any other time (by an earlier catalog version, or the operator) is held to the
      // catalog's price then: left as it is, a cheaper one would bill the model below the catalog from then on.
      ...ours
        .filter((s) => !changeTimes.has(Date.parse(s.effective_from)))
        .map((s) => ({ at: s.effective_from as string, shown: s.effective_from as string, row: catalogRowAt(entry.rows, Date.parse(s.effective_from)) })),
    ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    // The row in force just before `at`: the latest scheduled before then, else the one in force now.
    const inForceBefore = (at: string) => ours.findLast((s) => Date.parse(s.effective_from) < Date.parse(at)) ?? current.get(model)
    for (const { at, shown, row } of [{ at: null, shown: null, row: entry.rows[0]! }, ...dated]) {
      const before = at === null ? current.get(model) : ours.find((s) => Date.parse(s.effective_from) === Date.parse(at))
      let line = at === null ? diffNow(model, row, before) : diffScheduled(model, row, shown!, before)
      const notes = [...entry.notes, ...row.unbillable.map((u) => `not billable by tollgate: ${u}`)]
      if (row.noPrice && !vouchedFree.has(model)) {
        // Free at some providers, no longer sold at others: the catalog's comment, if any, helps the operator judge.
        const stated = row.unbillable.length ? `the catalog states no rate tollgate can bill, only ${row.unbillable.join(', ')}` : 'the catalog states no rate'
        line = { ...line, status: 'no price in catalog', changes: `${stated}: left as it is (refused, if unpriced); named with --models, --allow-free writes it free` }
        if (entry.comment) notes.push(`the catalog's comment: ${JSON.stringify(entry.comment)}`)
      } else if (line.status !== 'unchanged' && row.unbillable.length && !allowUnbilled)
        // Written, the row would serve the model for less than the provider bills it.
        line = { ...line, status: 'skipped', changes: `not billable by tollgate: ${row.unbillable.join(', ')} (--allow-unbilled writes it anyway)` }
      else if (line.status !== 'unchanged') line.write = rowToWrite(model, row, before ?? (at === null ? undefined : inForceBefore(at)), cite, at)
      lines.push({ ...line, catalog_model: `${catalog}/${entry.catalogModel}`, notes })
    }
  }

  const failed = args.switches.has('apply') ? await applyRows(api, lines) : []

  const notes = [...new Set(lines.flatMap((l) => l.notes.map((n) => `${l.model}: ${n}`)))]
  const json = { source, applied: args.switches.has('apply'), models: lines.map(({ write: _w, ...l }) => l), failed }
  return {
    table: lines.map((l) => ({ ...l, effective_from: l.effective_from ?? 'now' })),
    columns: ['model', 'status', 'effective_from', 'changes', 'catalog_model'],
    json,
    footer: [`catalog: ${source}`, ...notes, args.switches.has('apply') ? '' : 'Nothing written: run again with --apply to write the new and changed rows.'].filter(Boolean).join('\n'),
    ...(failed.length ? { error: `${failed.length} of ${lines.filter((l) => l.write).length} rows not written: ${failed.map((f) => f.model).join(', ')}` } : {}),
  }
}

interface Failed {
  model: string
  effective_from: string | null
  error: string
}

/**
 * Writes each line's row, in order, marking it applied or not. A row the gateway refuses does not stop the
 * others (one model's refusal must not keep every model sorted after it at its old price); a gateway that does not
 * answer does, as the rest would wait the same timeout each, and each line not tried says so.
 */
async function applyRows(api: AdminApi, lines: Line[]): Promise<Failed[]> {
  const failed: Failed[] = []
  const say = (line: Line, what: string) => void (line.changes = `${line.changes}${line.changes ? '; ' : ''}${what}`)
  let unreachable = false
  for (const line of lines) {
    if (!line.write) continue
    if (unreachable) {
      say(line, 'not applied: not tried, the gateway did not answer')
      failed.push({ model: line.model, effective_from: line.effective_from, error: 'not tried: the gateway did not answer' })
      continue
    }
    try {
      await api.call('POST', '/v1/pricing', line.write)
      say(line, 'applied')
    } catch (error) {
      if (!(error instanceof AdminApiError)) throw error
      unreachable = error.status === 0
      say(line, `not applied: ${error.message}`)
      failed.push({ model: line.model, effective_from: line.effective_from, error: error.message })
    }
  }
  return failed
}

const colon = (name: string) => {
  const cut = name.search(/[:/]/)
  return cut > 0 ? `${name.slice(0, cut)}:${name.slice(cut + 1)}` : name
}

const fmt = (v: unknown) => (v === undefined || v === null ? '-' : String(v))

/** The catalog's row for now against the row in force; only what the catalog states is compared. */
function diffNow(model: string, row: CatalogRow, price: any): Omit<Line, 'catalog_model' | 'notes'> {
  if (!price) return { model, status: 'new', effective_from: null, changes: describe(row.fields) }
  const changes = differences(row.fields, price)
  return { model, status: changes.length ? 'changed' : 'unchanged', effective_from: null, changes: changes.join('; ') }
}

/**
 * The catalog's row for a later time against the row scheduled then: none (a dated change to schedule), one
 * with other prices (changed: the catalog's are written at the same time, and the price book takes the newer),
 * or the same.
 */
function diffScheduled(model: string, row: CatalogRow, effective_from: string, price: any): Omit<Line, 'catalog_model' | 'notes'> {
  if (!price) return { model, status: 'scheduled', effective_from, changes: describe(row.fields) }
  const changes = differences(row.fields, price)
  return { model, status: changes.length ? 'changed' : 'unchanged', effective_from, changes: changes.join('; ') }
}

const changeTime = (row: CatalogRow) => Date.parse(`${row.effectiveFrom}T00:00:00Z`)

/** The catalog's row in force at `at`: the latest dated change by then, else the row for now. */
const catalogRowAt = (rows: CatalogRow[], at: number): CatalogRow => rows.findLast((row, i) => i === 0 || changeTime(row) <= at)!

function differences(fields: PriceFields, price: any): string[] {
  const out: string[] = []
  for (const f of FIELDS) if (fields[f] !== undefined && fields[f] !== price[f]) out.push(`${short(f)} ${fmt(price[f])} → ${fields[f]}`)
  for (const [f, floor] of impliedRates(fields)) if (price[f] != null && price[f] < floor) out.push(`${short(f)} ${price[f]} → ${floor}`)
  const search = fields.server_tools?.web_search
  if (search !== undefined && search !== price.server_tools?.web_search) out.push(`web_search ${fmt(price.server_tools?.web_search)} → ${search}`)
  for (const [tier, m] of Object.entries(fields.service_tiers ?? {}))
    if (m !== price.service_tiers?.[tier]) out.push(`${tier} ${fmt(price.service_tiers?.[tier])} → ${m}`)
  return out
}

const describe = (fields: PriceFields) =>
  [
    ...FIELDS.filter((f) => fields[f] !== undefined).map((f) => `${short(f)} ${fields[f]}`),
    ...(fields.server_tools ? [`web_search ${fields.server_tools.web_search}`] : []),
    ...Object.entries(fields.service_tiers ?? {}).map(([tier, m]) => `${tier} ${m}`),
  ].join('; ')

const short = (field: string) => field.replace('_per_million', '')

/**
 * The token rates the catalog gives none of, each at the rate genai-prices bills those tokens at instead:
 * cache reads, cache writes and audio input at the input rate (1-hour writes at the 5-minute rate, when it
 * has one), audio and image output at the output rate. An operator's rate for one of them is kept, but never below that.
 */
function impliedRates(fields: PriceFields): [keyof PriceFields, number][] {
  const implied: [keyof PriceFields, number][] = [
    ['cached_input_per_million', fields.input_per_million],
    ['cache_write_per_million', fields.input_per_million],
    ['cache_write_1h_per_million', fields.cache_write_per_million ?? fields.input_per_million],
    ['audio_input_per_million', fields.input_per_million],
    ['audio_output_per_million', fields.output_per_million],
    ['image_output_per_million', fields.output_per_million],
  ]
  return implied.filter(([f]) => fields[f] === undefined)
}

/**
 * The body of the row to write from `at` (null: now): the catalog's prices over the row it replaces (the one
 * in force, the one scheduled for that time, or else the one in force just before it, which may be scheduled
 * too), so that what the operator set and the catalog does not speak
 * of (a per-request price, service tiers and where long context starts, a media part's bound, the context window, the template allowance, other server tools) stays. A token rate the operator set that the catalog prices only by implication is raised
 * to that price: an audio rate set at today's input rate must not outlive a rise of the input rate.
 */
function rowToWrite(model: string, row: CatalogRow, price: any, source: string, at: string | null): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  if (price?.per_request != null) kept.per_request = price.per_request
  if (price?.service_tiers && Object.keys(price.service_tiers).length) kept.service_tiers = price.service_tiers
  if (price?.media_part_tokens != null) kept.media_part_tokens = price.media_part_tokens
  if (price?.context_window_tokens != null) kept.context_window_tokens = price.context_window_tokens
  if (price?.template_overhead_tokens != null) kept.template_overhead_tokens = price.template_overhead_tokens
  for (const f of FIELDS) if (price?.[f] != null) kept[f] = price[f]
  for (const [f, floor] of impliedRates(row.fields)) if (kept[f] != null) kept[f] = Math.max(kept[f] as number, floor)
  const tools = { ...price?.server_tools, ...row.fields.server_tools }
  const tiers = { ...price?.service_tiers, ...row.fields.service_tiers }
  return {
    ...kept,
    ...row.fields,
    ...(Object.keys(tools).length ? { server_tools: tools } : {}),
    ...(Object.keys(tiers).length ? { service_tiers: tiers } : {}),
    model,
    source,
    // A row from now is made from the row in force the diff read: refused (409) if another came since.
    ...(at ? { effective_from: at } : { based_on: basedOn(price ?? null) }),
  }
}

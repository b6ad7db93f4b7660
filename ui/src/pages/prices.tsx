import { useEffect, useState } from 'preact/hooks'
import { basedOn, carriedPriceFields, keptFieldsText } from '../../../src/cli/price-carry'
import { api, query, usd, when } from '../api'
import { changedSettings } from '../changed-settings'
import { ErrorLine, Field, Pager, Section, usePaged } from '../components'
import { typedModelName } from '../typed-model-name'
import { typedNumber } from '../typed-number'

type Row = Record<string, unknown>

/** The fields the form offers, by the row's field: what it sets, or (left empty) unsets. */
const LABELS = {
  input_per_million: 'Input USD / 1M tokens',
  output_per_million: 'Output USD / 1M tokens',
  cached_input_per_million: 'Cached input USD / 1M',
  per_request: 'Per request USD',
} as const
type Offered = keyof typeof LABELS
const FORM_FIELDS = Object.keys(LABELS) as Offered[]
type PriceFields = Record<Offered, string>
/** The name of each offered field's input. */
const INPUT_NAMES: Record<Offered, string> = {
  input_per_million: 'price-input',
  output_per_million: 'price-output',
  cached_input_per_million: 'price-cached',
  per_request: 'price-per-request',
}

/** The offered fields as a row has them (text); empty where it has none, and all empty for no row. */
const fieldsOf = (row: Row | null) => Object.fromEntries(FORM_FIELDS.map((f) => [f, row?.[f] == null ? '' : String(row[f])])) as PriceFields

const emptyForm = () => ({ shown: fieldsOf(null), fields: fieldsOf(null), filled: [] as Offered[] })

/** The API's fields, read from the form's: an empty one is null (unset). */
const settingsOf = (fields: PriceFields): Row => Object.fromEntries(FORM_FIELDS.map((f) => [f, typedNumber(LABELS[f], fields[f])]))

/** The offered fields the operator emptied that the row has set: the new row unsets them. */
const emptiedFields = (fields: PriceFields, row: Row | null) => FORM_FIELDS.filter((f) => fields[f].trim() === '' && row?.[f] != null)

/**
 * The price in force for a model (a row scheduled for later is not), or null for a model with none. Read from the
 * list filtered by the model, which answers no row where GET /v1/pricing/{model} answers 404: the browser logs every
 * 404 as an error, and the form is mostly used for models with no price yet.
 */
const priceInForce = async (model: string): Promise<Row | null> =>
  (await api<{ data: Row[] }>('GET', `/v1/pricing${query({ model, limit: 1 })}`)).data[0] ?? null

/**
 * What a new row for the model keeps from the row in force, and what it unsets (the offered fields left
 * empty), as the operator reads it; `added`: what the row just added kept and unset.
 */
function KeptFields(props: { model: string; inForce: Row | null; unset: Offered[]; added: boolean }) {
  const { model, inForce, unset, added } = props
  const testId = added ? 'price-kept' : 'price-keeps'
  if (!inForce)
    return <p class="muted" data-testid={testId}>{added ? `Added ${model}, a new model: nothing kept.` : `No price in force for ${model}: nothing to keep.`}</p>
  const lines = keptFieldsText(carriedPriceFields(inForce, FORM_FIELDS))
  const since = when(inForce.effective_from as string)
  const unsetLine = unset.length > 0 && (
    <p data-testid={added ? 'price-unset' : 'price-unsets'}>
      {added ? 'Unset, as left empty: ' : 'Left empty, so unset by the new price: '}
      {unset.map((f) => `${f} (${added ? 'was' : 'now'} ${inForce[f]})`).join(', ')}
    </p>
  )
  return (
    <div class="muted" data-testid={testId}>
      {lines.length === 0
        ? <p>{added ? `Added ${model}: nothing else to keep from the price before it.` : `Nothing else to keep from the price in force for ${model}.`}</p>
        : <>
          {added ? `Added ${model}, keeping from the price before it (since ${since}):` : `A new price keeps from the one in force for ${model} (since ${since}):`}
          <ul>{lines.map((line) => <li>{line}</li>)}</ul>
        </>}
      {unsetLine}
    </div>
  )
}

export function PricesPage(props: { params: URLSearchParams }) {
  const [refresh, setRefresh] = useState(0)
  const [model, setModel] = useState(props.params.get('model') ?? '')
  // A name pasted with a space around it, or after its provider, names the same model: a row for
  // "mock:gpt-mock " or "mock: gpt-mock" would price a model no client calls.
  const name = typedModelName(model)
  // The offered fields as last prefilled from the price in force (`shown`), as they are now, and those the last
  // prefill changed (`filled`).
  const [form, setForm] = useState(() => emptyForm())
  const [error, setError] = useState<string | null>(null)
  // The row in force for the model typed (undefined: not looked up yet), and what the last row added kept.
  const [inForce, setInForce] = useState<{ model: string; row: Row | null } | undefined>(undefined)
  const [added, setAdded] = useState<{ model: string; row: Row | null; unset: Offered[] } | null>(null)
  const [unpriced, setUnpriced] = useState<any[]>([])
  const current = usePaged<any>('/v1/pricing', refresh)
  const history = usePaged<any>('/v1/pricing/history', refresh)
  const set = (field: Offered) => (v: string) => setForm((f) => ({ ...f, fields: { ...f.fields, [field]: v } }))
  // The rates in force fill the fields the operator has not typed in, so that an empty field is one emptied.
  const prefill = (row: Row | null) =>
    setForm(({ shown, fields }) => {
      const next = fieldsOf(row)
      const filled = FORM_FIELDS.filter((f) => fields[f] === shown[f] && fields[f] !== next[f])
      return { shown: next, fields: { ...fields, ...Object.fromEntries(filled.map((f) => [f, next[f]])) }, filled }
    })
  // A rate that lands in the field the operator is in is selected: the key typed next replaces it instead of
  // joining it (a 2 prefilled as the operator types 4 would otherwise make 24).
  useEffect(() => {
    const focused = document.activeElement
    if (focused instanceof HTMLInputElement && form.filled.some((f) => focused.name === INPUT_NAMES[f])) focused.select()
  }, [form.filled])
  useEffect(() => setModel(props.params.get('model') ?? ''), [props.params.get('model')])
  useEffect(() => {
    setInForce(undefined)
    if (!name) return
    let live = true
    // Looked up once the operator stops typing, not for every prefix of the name.
    const timer = setTimeout(() => {
      priceInForce(name).then(
        (row) => {
          if (!live) return
          setInForce({ model: name, row })
          prefill(row)
        },
        (e) => live && setError(e.message),
      )
    }, 300)
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [name, refresh])
  useEffect(() => {
    api('GET', '/v1/pricing/unpriced').then((r) => setUnpriced(r.data), (e) => setError(e.message))
  }, [refresh])
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      // Only what the operator changed is set (or, emptied, unset): a field left as prefilled keeps the row in
      // force, read again as the row is written, since the one shown under the form may have changed since.
      const offered = changedSettings(form.shown, form.fields, settingsOf)
      const row = await priceInForce(name)
      await api('POST', '/v1/pricing', { ...carriedPriceFields(row, Object.keys(offered)), model: name, ...offered, based_on: basedOn(row) })
      setAdded({ model: name, row, unset: FORM_FIELDS.filter((f) => offered[f] === null && row?.[f] != null) })
      setModel('')
      setForm(emptyForm())
      setError(null)
      setRefresh((n) => n + 1)
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <>
      <h1>Prices</h1>
      {unpriced.length > 0 && (
        <Section title="Asked for, but unpriced">
          <ul class="unpriced-list">
            {unpriced.map((u) => (
              <li class="unpriced">
                <button type="button" onClick={() => setModel(u.model)}>{u.model}</button> {u.requests} refused, last {when(u.last_seen)}
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title="Add a price (applies from now on)">
        <form class="inline" onSubmit={submit}>
          <Field label="Model (provider:model)" name="price-model" value={model} required onInput={setModel} />
          <Field label={LABELS.input_per_million} name={INPUT_NAMES.input_per_million} inputMode="decimal" value={form.fields.input_per_million} required onInput={set('input_per_million')} />
          <Field label={LABELS.output_per_million} name={INPUT_NAMES.output_per_million} inputMode="decimal" value={form.fields.output_per_million} required onInput={set('output_per_million')} />
          <Field label={LABELS.cached_input_per_million} name={INPUT_NAMES.cached_input_per_million} inputMode="decimal" value={form.fields.cached_input_per_million} onInput={set('cached_input_per_million')} />
          <Field label={LABELS.per_request} name={INPUT_NAMES.per_request} inputMode="decimal" value={form.fields.per_request} onInput={set('per_request')} />
          <button type="submit">Add price</button>
          <ErrorLine error={error} />
        </form>
        {inForce && inForce.model === name && <KeptFields model={name} inForce={inForce.row} unset={emptiedFields(form.fields, inForce.row)} added={false} />}
        {added && <KeptFields model={added.model} inForce={added.row} unset={added.unset} added />}
      </Section>
      <Section title="In force">
        <ErrorLine error={current.error} />
        <table>
          <thead><tr><th>Model</th><th>Input / 1M</th><th>Output / 1M</th><th>Cached / 1M</th><th>Per request</th><th>Since</th></tr></thead>
          <tbody>
            {current.page?.data.map((p) => (
              <tr><td>{p.model}</td><td>{usd(p.input_per_million)}</td><td>{usd(p.output_per_million)}</td><td>{usd(p.cached_input_per_million)}</td><td>{usd(p.per_request)}</td><td>{when(p.effective_from)}</td></tr>
            ))}
          </tbody>
        </table>
        <Pager first={current.first} more={!!current.page?.next_cursor} next={current.next} prev={current.prev} />
      </Section>
      <Section title="History">
        <table>
          <thead><tr><th>Id</th><th>Model</th><th>Input / 1M</th><th>Output / 1M</th><th>From</th><th>Until</th></tr></thead>
          <tbody>
            {history.page?.data.map((p) => (
              <tr><td>{p.id}</td><td>{p.model}</td><td>{usd(p.input_per_million)}</td><td>{usd(p.output_per_million)}</td><td>{when(p.effective_from)}</td><td>{p.deleted_at ? `deleted ${when(p.deleted_at)}` : when(p.effective_until)}</td></tr>
            ))}
          </tbody>
        </table>
        <Pager first={history.first} more={!!history.page?.next_cursor} next={history.next} prev={history.prev} />
      </Section>
    </>
  )
}

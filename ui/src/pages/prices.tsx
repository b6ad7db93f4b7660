import { useEffect, useState } from 'preact/hooks'
import { carriedPriceFields, keptFieldsText } from '../../../src/cli/price-carry'
import { api, ApiError, usd, when } from '../api'
import { ErrorLine, Field, Pager, Section, usePaged } from '../components'
import { typedNumber } from '../typed-number'

const INPUT = 'Input USD / 1M tokens'
const OUTPUT = 'Output USD / 1M tokens'
const CACHED = 'Cached input USD / 1M'
const PER_REQUEST = 'Per request USD'

/** The fields the form sets (an empty one unsets it); a new row keeps every other field of the row in force. */
const FORM_FIELDS = ['input_per_million', 'output_per_million', 'cached_input_per_million', 'per_request']

/** The price in force for a model (a row scheduled for later is not), or null for a model with none. */
const priceInForce = (model: string): Promise<Record<string, unknown> | null> =>
  api('GET', `/v1/pricing/${encodeURIComponent(model)}`).catch((e) => {
    if (e instanceof ApiError && e.status === 404) return null
    throw e
  })

/** What a new row for the model keeps from the row in force (`added`: what the row just added kept), as the operator reads it. */
function KeptFields(props: { model: string; inForce: Record<string, unknown> | null; added: boolean }) {
  const { model, inForce, added } = props
  const testId = added ? 'price-kept' : 'price-keeps'
  if (!inForce)
    return <p class="muted" data-testid={testId}>{added ? `Added ${model}, a new model: nothing kept.` : `No price in force for ${model}: nothing to keep.`}</p>
  const lines = keptFieldsText(carriedPriceFields(inForce, FORM_FIELDS))
  const since = when(inForce.effective_from as string)
  if (!lines.length)
    return <p class="muted" data-testid={testId}>{added ? `Added ${model}: nothing else to keep from the price before it.` : `Nothing else to keep from the price in force for ${model}.`}</p>
  return (
    <div class="muted" data-testid={testId}>
      {added ? `Added ${model}, keeping from the price before it (since ${since}):` : `A new price keeps from the one in force for ${model} (since ${since}):`}
      <ul>{lines.map((line) => <li>{line}</li>)}</ul>
    </div>
  )
}

export function PricesPage(props: { params: URLSearchParams }) {
  const [refresh, setRefresh] = useState(0)
  const [model, setModel] = useState(props.params.get('model') ?? '')
  // A name pasted with a space around it names the same model: a row for "mock:gpt-mock " would price a model no client calls.
  const name = model.trim()
  const [input, setInput] = useState('')
  const [output, setOutput] = useState('')
  const [cached, setCached] = useState('')
  const [perRequest, setPerRequest] = useState('')
  const [error, setError] = useState<string | null>(null)
  // The row in force for the model typed (undefined: not looked up yet), and what the last row added kept.
  const [inForce, setInForce] = useState<{ model: string; row: Record<string, unknown> | null } | undefined>(undefined)
  const [added, setAdded] = useState<{ model: string; row: Record<string, unknown> | null } | null>(null)
  const [unpriced, setUnpriced] = useState<any[]>([])
  const current = usePaged<any>('/v1/pricing', refresh)
  const history = usePaged<any>('/v1/pricing/history', refresh)
  useEffect(() => setModel(props.params.get('model') ?? ''), [props.params.get('model')])
  useEffect(() => {
    setInForce(undefined)
    if (!name) return
    let live = true
    // Looked up once the operator stops typing, not for every prefix of the name.
    const timer = setTimeout(() => {
      priceInForce(name).then((row) => live && setInForce({ model: name, row }), (e) => live && setError(e.message))
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
      const offered = {
        input_per_million: typedNumber(INPUT, input), output_per_million: typedNumber(OUTPUT, output),
        cached_input_per_million: typedNumber(CACHED, cached), per_request: typedNumber(PER_REQUEST, perRequest),
      }
      // Read again as the row is written: the one shown under the form may have changed since.
      const row = await priceInForce(name)
      await api('POST', '/v1/pricing', { ...carriedPriceFields(row, FORM_FIELDS), model: name, ...offered })
      setAdded({ model: name, row })
      setModel('')
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
          <Field label={INPUT} name="price-input" inputMode="decimal" value={input} required onInput={setInput} />
          <Field label={OUTPUT} name="price-output" inputMode="decimal" value={output} required onInput={setOutput} />
          <Field label={CACHED} name="price-cached" inputMode="decimal" value={cached} onInput={setCached} />
          <Field label={PER_REQUEST} name="price-per-request" inputMode="decimal" value={perRequest} onInput={setPerRequest} />
          <button type="submit">Add price</button>
          <ErrorLine error={error} />
        </form>
        {inForce && inForce.model === name && <KeptFields model={name} inForce={inForce.row} added={false} />}
        {added && <KeptFields model={added.model} inForce={added.row} added />}
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

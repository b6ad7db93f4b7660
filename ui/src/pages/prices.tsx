import { useEffect, useState } from 'preact/hooks'
import { api, usd, when } from '../api'
import { ErrorLine, Field, Pager, Section, usePaged } from '../components'

const optional = (s: string) => (s.trim() === '' ? undefined : Number(s))

export function PricesPage(props: { params: URLSearchParams }) {
  const [refresh, setRefresh] = useState(0)
  const [model, setModel] = useState(props.params.get('model') ?? '')
  const [input, setInput] = useState('')
  const [output, setOutput] = useState('')
  const [cached, setCached] = useState('')
  const [perRequest, setPerRequest] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [unpriced, setUnpriced] = useState<any[]>([])
  const current = usePaged<any>('/v1/pricing', refresh)
  const history = usePaged<any>('/v1/pricing/history', refresh)
  useEffect(() => setModel(props.params.get('model') ?? ''), [props.params.get('model')])
  useEffect(() => {
    api('GET', '/v1/pricing/unpriced').then((r) => setUnpriced(r.data), (e) => setError(e.message))
  }, [refresh])
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      await api('POST', '/v1/pricing', {
        model, input_per_million: Number(input), output_per_million: Number(output),
        cached_input_per_million: optional(cached), per_request: optional(perRequest),
      })
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
          <Field label="Input USD / 1M tokens" name="price-input" type="number" value={input} required onInput={setInput} />
          <Field label="Output USD / 1M tokens" name="price-output" type="number" value={output} required onInput={setOutput} />
          <Field label="Cached input USD / 1M" name="price-cached" type="number" value={cached} onInput={setCached} />
          <Field label="Per request USD" name="price-per-request" type="number" value={perRequest} onInput={setPerRequest} />
          <button type="submit">Add price</button>
          <ErrorLine error={error} />
        </form>
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

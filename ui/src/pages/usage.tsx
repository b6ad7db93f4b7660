import { useEffect, useState } from 'preact/hooks'
import { api, query, usd, when } from '../api'
import { DailyChart } from '../chart'
import { ErrorLine, Field, Pager, Select, usePaged } from '../components'
import { navigate } from '../router'
import { isoFromUtcField } from '../utc-time'

const FILTERS = ['user_id', 'key_id', 'model', 'status', 'since', 'until'] as const
const STATUSES: Array<[string, string]> = [['', 'any'], ['ok', 'ok'], ['error', 'error'], ['aborted', 'aborted'], ['expired', 'expired']]
const TIMES = ['since', 'until'] as const

export function UsageTable(props: { rows: any[] }) {
  return (
    <table>
      <thead><tr><th>Time</th><th>User</th><th>Key</th><th>Model</th><th>Endpoint</th><th>Status</th><th>Tokens in / out</th><th>Cost</th></tr></thead>
      <tbody>
        {props.rows.map((r) => (
          <tr><td>{when(r.created_at)}</td><td>{r.user_id}</td><td>{r.key_id ?? '—'}</td><td>{r.model}</td><td>{r.endpoint}</td><td>{r.status}</td>
            <td>{r.prompt_tokens} / {r.completion_tokens}</td><td>{usd(r.cost)}</td></tr>
        ))}
      </tbody>
    </table>
  )
}

export function UsagePage(props: { params: URLSearchParams }) {
  const asked = Object.fromEntries(FILTERS.map((f) => [f, props.params.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>
  // A time in the URL is whatever was typed there: one that is not a time is left out, and said so.
  const unreadable = TIMES.filter((t) => asked[t] !== '' && isoFromUtcField(asked[t]) === null)
  const applied = { ...asked, ...Object.fromEntries(unreadable.map((t) => [t, ''])) }
  const [form, setForm] = useState(applied)
  const [daily, setDaily] = useState<any>(null)
  const [error, setError] = useState<string | null>(null)
  const q = query({ ...applied, since: isoFromUtcField(applied.since), until: isoFromUtcField(applied.until) })
  const list = usePaged<any>(`/v1/usage${q}`)
  // The page is kept across filter changes: each filter's chart, or its error, replaces the last filter's
  // (an answer for a filter no longer applied is dropped).
  useEffect(() => {
    setForm(applied)
    setDaily(null)
    setError(null)
    let applies = true
    api('GET', `/v1/usage/daily${q ? `${q}&` : '?'}by=model`).then(
      (answer) => applies && setDaily(answer),
      (e) => applies && setError(e.message),
    )
    return () => {
      applies = false
    }
  }, [q])
  const set = (f: keyof typeof form) => (v: string) => setForm({ ...form, [f]: v })
  return (
    <>
      <h1>Usage</h1>
      <form class="inline" role="search" onSubmit={(e) => { e.preventDefault(); navigate('usage', Object.fromEntries(Object.entries(form).filter(([, v]) => v))) }}>
        <Field label="User id" name="usage-user" value={form.user_id} onInput={set('user_id')} />
        <Field label="Key id" name="usage-key" value={form.key_id} onInput={set('key_id')} />
        <Field label="Model" name="usage-model" value={form.model} onInput={set('model')} />
        <Select label="Status" name="usage-status" value={form.status} options={STATUSES} onInput={set('status')} />
        <Field label="Since (UTC)" name="usage-since" type="datetime-local" value={form.since} onInput={set('since')} />
        <Field label="Until (UTC)" name="usage-until" type="datetime-local" value={form.until} onInput={set('until')} />
        <button type="submit">Apply</button>
        <a class="button" href={`/v1/usage/csv${q}`} download="usage.csv">Export CSV</a>
      </form>
      <ErrorLine error={unreadable.length ? unreadable.map((t) => `${t} "${asked[t]}"`).join(' and ') + ': not a UTC date and time (YYYY-MM-DDTHH:MM), not applied' : null} />
      <ErrorLine error={error ?? list.error} />
      {daily && <DailyChart label="Spend per day under these filters, by model (UTC)" days={daily.days} stacked money series={daily.series.map((s: any) => ({ name: s.name, values: s.cost }))} />}
      <UsageTable rows={list.page?.data ?? []} />
      <Pager first={list.first} more={!!list.page?.next_cursor} next={list.next} prev={list.prev} />
    </>
  )
}

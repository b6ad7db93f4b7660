import { useState } from 'preact/hooks'
import { query, when } from '../api'
import { ErrorLine, Field, Pager, usePaged } from '../components'

/**
 * A refused request answered before any key was known is counted, one row per source, route, method and status
 * a minute: its count says how many it stands for (40 guesses at a key are not one), until when.
 */
const requestsText = (r: { count: number; last_at: string | null }) =>
  r.count > 1 && r.last_at ? <>{r.count} <div class="muted">until {when(r.last_at)}</div></> : r.count

export function AuditPage() {
  const empty = { user_id: '', key_id: '', status: '', route: '', client_ip: '' }
  const [form, setForm] = useState(empty)
  const [applied, setApplied] = useState(empty)
  const list = usePaged<any>(`/v1/audit${query(applied)}`)
  const set = (f: keyof typeof empty) => (v: string) => setForm({ ...form, [f]: v })
  return (
    <>
      <h1>Audit</h1>
      <form class="inline" role="search" onSubmit={(e) => { e.preventDefault(); setApplied(form) }}>
        <Field label="User id" name="audit-user" value={form.user_id} onInput={set('user_id')} />
        <Field label="Key id" name="audit-key" value={form.key_id} onInput={set('key_id')} />
        <Field label="Status" name="audit-status" type="number" value={form.status} onInput={set('status')} />
        <Field label="Path" name="audit-route" value={form.route} onInput={set('route')} />
        <Field label="Client IP" name="audit-ip" value={form.client_ip} onInput={set('client_ip')} />
        <button type="submit">Apply</button>
      </form>
      <ErrorLine error={list.error} />
      <table>
        <thead><tr><th>Time</th><th>Method</th><th>Path</th><th>Status</th><th>Latency</th><th>Requests</th><th>Client</th><th>Key</th><th>User</th></tr></thead>
        <tbody>
          {list.page?.data.map((r) => (
            <tr><td>{when(r.created_at)}</td><td>{r.method}</td><td>{r.route}</td><td>{r.status}</td><td>{r.latency_ms} ms</td><td>{requestsText(r)}</td><td>{r.client_ip ?? '—'}</td><td>{r.key_id ?? '—'}</td><td>{r.user_id ?? '—'}</td></tr>
          ))}
        </tbody>
      </table>
      <Pager first={list.first} more={!!list.page?.next_cursor} next={list.next} prev={list.prev} />
    </>
  )
}

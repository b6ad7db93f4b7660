import { useState } from 'preact/hooks'
import { api, usd, when } from '../api'
import { ErrorLine, Field, Pager, Section, Select, usePaged } from '../components'
import { navigate } from '../router'

const numberOrNull = (s: string) => (s.trim() === '' ? null : Number(s))
const modelsOrNull = (s: string) => (s.trim() === '' ? null : s.split(',').map((m) => m.trim()).filter(Boolean))
// datetime-local fields are read and shown as UTC, as the label says.
const isoOrNull = (s: string) => (s ? new Date(`${s}:00Z`).toISOString() : null)
const localTime = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : '')

// '' is null in the API: the gateway's setting (TOLLGATE_REJECT_USER_MISMATCH, TOLLGATE_CLAMP_OUTPUT) decides.
const USER_FIELD: Array<[string, string]> = [['', 'gateway default'], ['reject', 'reject (403)'], ['tag', 'tag (billed to this key)']]
const CLAMP: Array<[string, string]> = [['', 'gateway default'], ['true', 'on'], ['false', 'off']]
const userFieldText = (v: string | null) => (v === null ? 'default' : v)
const clampText = (v: boolean | null) => (v === null ? 'default' : v ? 'on' : 'off')

/** The secret exists only in the create and rotate answers: shown here once, with a copy button, and never again. */
function SecretOnce(props: { secret: string; onClose: () => void }) {
  const [copied, setCopied] = useState(false)
  return (
    <div class="secret" role="status">
      <p>Copy this key now: it will not be shown again.</p>
      <code data-testid="new-secret">{props.secret}</code>
      <button type="button" onClick={() => navigator.clipboard.writeText(props.secret).then(() => setCopied(true))}>{copied ? 'Copied' : 'Copy'}</button>
      <button type="button" onClick={props.onClose}>Done</button>
    </div>
  )
}

function KeyForm(props: { userId?: string; keyRow?: any; onDone: (secret?: string) => void }) {
  const k = props.keyRow
  const [userId, setUserId] = useState(props.userId ?? '')
  const [name, setName] = useState(k?.name ?? '')
  const [expires, setExpires] = useState(localTime(k?.expires_at ?? null))
  const [models, setModels] = useState((k?.allowed_models ?? []).join(', '))
  const [budget, setBudget] = useState(k?.max_budget == null ? '' : String(k.max_budget))
  const [rpm, setRpm] = useState(k?.rpm_limit == null ? '' : String(k.rpm_limit))
  const [userField, setUserField] = useState<string>(k?.user_field ?? '')
  const [clamp, setClamp] = useState(k?.clamp_output == null ? '' : String(k.clamp_output))
  const [error, setError] = useState<string | null>(null)
  const p = k ? 'edit-' : ''
  const submit = async (e: Event) => {
    e.preventDefault()
    const fields = {
      name: name || null, expires_at: isoOrNull(expires), allowed_models: modelsOrNull(models),
      max_budget: numberOrNull(budget), rpm_limit: numberOrNull(rpm),
      user_field: userField || null, clamp_output: clamp === '' ? null : clamp === 'true',
    }
    try {
      if (k) {
        await api('PATCH', `/v1/keys/${k.id}`, fields)
        props.onDone()
      } else {
        const created = await api('POST', '/v1/keys', { user_id: userId, ...fields })
        for (const clear of [setName, setExpires, setModels, setBudget, setRpm, setUserField, setClamp]) clear('')
        setError(null)
        props.onDone(created.key)
      }
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <form class="inline" onSubmit={submit} aria-label={k ? `Edit key ${k.id}` : 'New key'}>
      {!k && <Field label="User id" name="key-user" value={userId} required onInput={setUserId} />}
      <Field label="Name" name={`${p}key-name`} value={name} onInput={setName} />
      <Field label="Expires (UTC)" name={`${p}key-expires`} type="datetime-local" value={expires} onInput={setExpires} />
      <Field label="Allowed models (comma-separated; empty: all)" name={`${p}key-models`} value={models} onInput={setModels} />
      <Field label="Key budget (USD)" name={`${p}key-budget`} type="number" value={budget} onInput={setBudget} placeholder="none" />
      <Field label="Requests per minute" name={`${p}key-rpm`} type="number" value={rpm} onInput={setRpm} placeholder="no limit" />
      <Select label="User field (a body naming another user)" name={`${p}key-user-field`} value={userField} options={USER_FIELD} onInput={setUserField} />
      <Select label="Clamp output to budget" name={`${p}key-clamp`} value={clamp} options={CLAMP} onInput={setClamp} />
      <button type="submit">{k ? 'Save' : 'Create key'}</button>
      <ErrorLine error={error} />
    </form>
  )
}

export function KeysPage(props: { params: URLSearchParams }) {
  const userId = props.params.get('user_id') ?? ''
  const [filter, setFilter] = useState(userId)
  const [refresh, setRefresh] = useState(0)
  const [secret, setSecret] = useState<string | null>(null)
  const [editing, setEditing] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const list = usePaged<any>(`/v1/keys${userId ? `?user_id=${encodeURIComponent(userId)}` : ''}`, refresh)
  const reload = () => {
    setEditing(null)
    setRefresh((n) => n + 1)
  }
  return (
    <>
      <h1>Keys{userId && ` of ${userId}`}</h1>
      <form class="inline" role="search" onSubmit={(e) => { e.preventDefault(); navigate('keys', filter ? { user_id: filter } : {}) }}>
        <Field label="Filter by user id" name="filter-user" value={filter} onInput={setFilter} />
        <button type="submit">Filter</button>
      </form>
      {secret && <SecretOnce secret={secret} onClose={() => setSecret(null)} />}
      <Section title="New key">
        <KeyForm userId={userId} onDone={(s) => { if (s) setSecret(s); reload() }} />
      </Section>
      <ErrorLine error={error ?? list.error} />
      <table>
        <thead><tr><th>Key</th><th>User</th><th>Name</th><th>Models</th><th>Budget</th><th>RPM</th><th>User field</th><th>Clamp output</th><th>Expires</th><th>Status</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {list.page?.data.map((k) => (
            <>
              <tr>
                <td><code>{k.key_prefix}…</code><div class="muted">{k.id}</div></td>
                <td>{k.user_id}</td><td>{k.name ?? '—'}</td>
                <td>{k.allowed_models ? k.allowed_models.join(', ') : 'all'}</td>
                <td>{k.max_budget === null ? '—' : `${usd(k.spend)} of ${usd(k.max_budget)}`}</td>
                <td>{k.rpm_limit ?? '—'}</td>
                <td data-testid="key-user-field">{userFieldText(k.user_field)}</td><td data-testid="key-clamp">{clampText(k.clamp_output)}</td>
                <td>{when(k.expires_at)}</td>
                <td>{k.revoked_at ? 'revoked' : 'active'}</td>
                <td><div class="actions">
                  {!k.revoked_at && (
                    <>
                      <button type="button" onClick={() => setEditing(editing === k.id ? null : k.id)}>Edit</button>
                      <button type="button" onClick={() => api('POST', `/v1/keys/${k.id}/rotate`).then((r) => { setSecret(r.key); reload() }, (e) => setError(e.message))}>Rotate</button>
                      <button type="button" onClick={() => confirm(`Revoke key ${k.key_prefix}…?`) && api('DELETE', `/v1/keys/${k.id}`).then(reload, (e) => setError(e.message))}>Revoke</button>
                    </>
                  )}
                  <a href={`#/usage?key_id=${encodeURIComponent(k.id)}`}>Usage</a>
                </div></td>
              </tr>
              {editing === k.id && <tr><td colSpan={11}><KeyForm keyRow={k} onDone={reload} /></td></tr>}
            </>
          ))}
        </tbody>
      </table>
      <Pager first={list.first} more={!!list.page?.next_cursor} next={list.next} prev={list.prev} />
    </>
  )
}

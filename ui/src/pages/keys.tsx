import { useEffect, useRef, useState } from 'preact/hooks'
import { api, modelsText, usd, when } from '../api'
import { changedSettings } from '../changed-settings'
import { ErrorLine, Field, Pager, Section, Select, usePaged } from '../components'
import { useForgetOnLeave } from '../forget-on-leave'
import { returnFocus } from '../return-focus'
import { navigate } from '../router'
import { typedModelName } from '../typed-model-name'
import { typedNumber } from '../typed-number'
import { isoFromUtcField, utcFieldValue } from '../utc-time'

const BUDGET = 'Key budget (USD)'
const RPM = 'Requests per minute'
const MODEL_LIST = 'Models (comma-separated)'

/**
 * The models "only those listed" allows. A list naming none ("," or " , " pass the field's `required`) is
 * refused: sent as [], it would park the key, which is the "no model" choice, not this one.
 */
function modelList(text: string): string[] {
  const models = text.split(',').map(typedModelName).filter(Boolean)
  if (models.length === 0) throw new Error(`${MODEL_LIST} must name at least one model; to allow none, choose "no model".`)
  return models
}

// null is every priced model; [] is no model at all (the key is parked): two settings, never one empty field.
const MODELS: Array<[string, string]> = [['all', 'every priced model'], ['none', 'no model'], ['only', 'only those listed']]

// '' is null in the API: the gateway's setting (TOLLGATE_REJECT_USER_MISMATCH, TOLLGATE_CLAMP_OUTPUT) decides.
const USER_FIELD: Array<[string, string]> = [['', 'gateway default'], ['reject', 'reject (403)'], ['tag', 'tag (billed to this key)']]
const CLAMP: Array<[string, string]> = [['', 'gateway default'], ['true', 'on'], ['false', 'off']]
const userFieldText = (v: string | null) => (v === null ? 'default' : v)
const clampText = (v: boolean | null) => (v === null ? 'default' : v ? 'on' : 'off')

/** Whether the gateway takes the key now: revoked, past its expiry, or its user blocked are each refused. */
function statusText(k: { revoked_at: string | null; expires_at: string | null; user_blocked: boolean }, now = Date.now()): string {
  if (k.revoked_at) return 'revoked'
  if (k.expires_at && Date.parse(k.expires_at) <= now) return 'expired'
  if (k.user_blocked) return 'user blocked'
  return 'active'
}

/**
 * The secret exists only in the create and rotate answers: shown here once, with a copy button, and never again
 * (not by the Back button either: it is forgotten as the page is left).
 */
function SecretOnce(props: { secret: string; opener: Element | null; onClose: () => void }) {
  const [copied, setCopied] = useState(false)
  const copy = useRef<HTMLButtonElement>(null)
  // Shown above the form it came from: focus is taken to it (Copy), and given back to what opened it on Done.
  useEffect(() => copy.current?.focus(), [])
  const close = () => {
    props.onClose()
    returnFocus(props.opener)
  }
  return (
    <div class="secret" role="status">
      <p>Copy this key now: it will not be shown again.</p>
      <code data-testid="new-secret">{props.secret}</code>
      <button type="button" ref={copy} onClick={() => navigator.clipboard.writeText(props.secret).then(() => setCopied(true))}>{copied ? 'Copied' : 'Copy'}</button>
      <button type="button" onClick={close}>Done</button>
    </div>
  )
}

/** A key's settings as the form's fields hold them (text); empty for a new key. */
function fieldsOf(k?: any) {
  return {
    name: k?.name ?? '',
    expires: utcFieldValue(k?.expires_at ?? null),
    models: k?.allowed_models == null ? 'all' : k.allowed_models.length === 0 ? 'none' : 'only',
    modelList: (k?.allowed_models ?? []).join(', '),
    budget: k?.max_budget == null ? '' : String(k.max_budget),
    rpm: k?.rpm_limit == null ? '' : String(k.rpm_limit),
    userField: (k?.user_field ?? '') as string,
    clamp: k?.clamp_output == null ? '' : String(k.clamp_output),
  }
}
type KeyFields = ReturnType<typeof fieldsOf>

/** The API's settings, read from the fields (a number spelt otherwise than the CLI takes it is refused). */
function settingsOf(f: KeyFields): Record<string, unknown> {
  return {
    name: f.name || null,
    expires_at: f.expires ? isoFromUtcField(f.expires) : null,
    allowed_models: f.models === 'all' ? null : f.models === 'none' ? [] : modelList(f.modelList),
    max_budget: typedNumber(BUDGET, f.budget),
    rpm_limit: typedNumber(RPM, f.rpm, 'integer'),
    user_field: f.userField || null,
    clamp_output: f.clamp === '' ? null : f.clamp === 'true',
  }
}

function KeyForm(props: { userId?: string; keyRow?: any; onDone: (secret?: string) => void }) {
  const k = props.keyRow
  const [userId, setUserId] = useState(props.userId ?? '')
  const [shown] = useState(() => fieldsOf(k))
  const [fields, setFields] = useState(shown)
  const [error, setError] = useState<string | null>(null)
  const set = (field: keyof KeyFields) => (v: string) => setFields((f) => ({ ...f, [field]: v }))
  const p = k ? 'edit-' : ''
  const sending = useRef(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    // A second click while the first is on its way would create a second key, its secret shown over the first one's.
    if (sending.current) return
    sending.current = true
    try {
      if (k) {
        const changes = changedSettings(shown, fields, settingsOf)
        if (Object.keys(changes).length > 0) await api('PATCH', `/v1/keys/${k.id}`, changes)
        props.onDone()
      } else {
        const created = await api('POST', '/v1/keys', { user_id: userId, ...settingsOf(fields) })
        setFields(fieldsOf())
        setError(null)
        props.onDone(created.key)
      }
    } catch (err) {
      setError((err as Error).message)
    } finally {
      sending.current = false
    }
  }
  return (
    <form class="inline" onSubmit={submit} aria-label={k ? `Edit key ${k.id}` : 'New key'}>
      {!k && <Field label="User id" name="key-user" value={userId} required onInput={setUserId} />}
      <Field label="Name" name={`${p}key-name`} value={fields.name} onInput={set('name')} />
      <Field label="Expires (UTC)" name={`${p}key-expires`} type="datetime-local" step="1" value={fields.expires} onInput={set('expires')} />
      <Select label="Allowed models" name={`${p}key-models`} value={fields.models} options={MODELS} onInput={set('models')} />
      {fields.models === 'only' && <Field label={MODEL_LIST} name={`${p}key-model-list`} value={fields.modelList} required onInput={set('modelList')} />}
      <Field label={BUDGET} name={`${p}key-budget`} inputMode="decimal" value={fields.budget} onInput={set('budget')} placeholder="none" />
      <Field label={RPM} name={`${p}key-rpm`} inputMode="numeric" value={fields.rpm} onInput={set('rpm')} placeholder="no limit" />
      <Select label="User field (a body naming another user)" name={`${p}key-user-field`} value={fields.userField} options={USER_FIELD} onInput={set('userField')} />
      <Select label="Clamp output to budget" name={`${p}key-clamp`} value={fields.clamp} options={CLAMP} onInput={set('clamp')} />
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
  useForgetOnLeave(() => setSecret(null))
  const secretOpener = useRef<Element | null>(null)
  /**
   * A secret to show, and what opened it (focused as it came). A second one replacing the first (Rotate clicked twice)
   * keeps the first one's opener: focus is then on the first panel, which goes, or already on <body>.
   */
  const showSecret = (s: string) => {
    const active = document.activeElement
    if (active && active !== document.body && !active.closest('.secret')) secretOpener.current = active
    setSecret(s)
  }
  const [editing, setEditing] = useState<string | null>(null)
  const editOpener = useRef<Element | null>(null)
  const [error, setError] = useState<string | null>(null)
  const list = usePaged<any>(`/v1/keys${userId ? `?user_id=${encodeURIComponent(userId)}` : ''}`, refresh)
  const reload = () => {
    setEditing(null)
    setRefresh((n) => n + 1)
  }
  // As on the Users page: the line tells of the last action only, and the list is read again either way.
  const act = <T,>(fn: () => Promise<T>, then: (r: T) => void = () => {}) =>
    fn().then((r) => { setError(null); then(r) }, (e) => setError(e.message)).then(reload)
  return (
    <>
      <h1>Keys{userId && ` of ${userId}`}</h1>
      <form class="inline" role="search" onSubmit={(e) => { e.preventDefault(); navigate('keys', filter ? { user_id: filter } : {}) }}>
        <Field label="Filter by user id" name="filter-user" value={filter} onInput={setFilter} />
        <button type="submit">Filter</button>
      </form>
      {/* Keyed by the secret: another one (a second Rotate) is a new panel, focused as it appears. */}
      {secret && <SecretOnce key={secret} secret={secret} opener={secretOpener.current} onClose={() => setSecret(null)} />}
      <Section title="New key">
        {/* Keyed by the user: a filter to another user's keys makes a new form, naming that user. */}
        <KeyForm key={userId} userId={userId} onDone={(s) => { setError(null); if (s) showSecret(s); reload() }} />
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
                <td data-testid="key-models">{modelsText(k.allowed_models, 'all')}</td>
                <td>{k.max_budget === null ? '—' : `${usd(k.spend)} of ${usd(k.max_budget)}`}</td>
                <td>{k.rpm_limit ?? '—'}</td>
                <td data-testid="key-user-field">{userFieldText(k.user_field)}</td><td data-testid="key-clamp">{clampText(k.clamp_output)}</td>
                <td>{when(k.expires_at)}</td>
                <td>{statusText(k)}</td>
                <td><div class="actions">
                  {!k.revoked_at && (
                    <>
                      <button type="button" onClick={(e) => { editOpener.current = e.currentTarget; setEditing(editing === k.id ? null : k.id) }}>Edit</button>
                      <button type="button" onClick={() => act(() => api('POST', `/v1/keys/${k.id}/rotate`), (r) => showSecret(r.key))}>Rotate</button>
                      <button type="button" onClick={() => confirm(`Revoke key ${k.key_prefix}…?`) && act(() => api('DELETE', `/v1/keys/${k.id}`))}>Revoke</button>
                    </>
                  )}
                  <a href={`#/usage?key_id=${encodeURIComponent(k.id)}`}>Usage</a>
                </div></td>
              </tr>
              {editing === k.id && <tr><td colSpan={11}><KeyForm keyRow={k} onDone={() => { setError(null); reload(); returnFocus(editOpener.current) }} /></td></tr>}
            </>
          ))}
        </tbody>
      </table>
      <Pager first={list.first} more={!!list.page?.next_cursor} next={list.next} prev={list.prev} />
    </>
  )
}

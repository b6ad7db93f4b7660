import { useRef, useState } from 'preact/hooks'
import { api, usd, when } from '../api'
import { changedSettings } from '../changed-settings'
import { BudgetBar, ErrorLine, Field, Pager, Section, Select, usePaged } from '../components'
import { returnFocus } from '../return-focus'
import { typedNumber } from '../typed-number'

const PERIODS: Array<[string, string]> = [['', 'none (lifetime)'], ['daily', 'daily'], ['weekly', 'weekly'], ['monthly', 'monthly']]
const BUDGET = 'Budget (USD)'

/** A user's settings as the form's fields hold them (text); empty for a new user. */
function fieldsOf(u?: any) {
  return { alias: u?.alias ?? '', budget: u?.max_budget == null ? '' : String(u.max_budget), period: (u?.budget_period ?? '') as string }
}
type UserFields = ReturnType<typeof fieldsOf>

/** The API's settings, read from the fields (a budget spelt otherwise than the CLI takes it is refused). */
function settingsOf(f: UserFields): Record<string, unknown> {
  return { alias: f.alias || null, max_budget: typedNumber(BUDGET, f.budget), budget_period: f.period || null }
}

function UserForm(props: { user?: any; onDone: () => void }) {
  const u = props.user
  const [id, setId] = useState('')
  const [shown] = useState(() => fieldsOf(u))
  const [fields, setFields] = useState(shown)
  const [error, setError] = useState<string | null>(null)
  const set = (field: keyof UserFields) => (v: string) => setFields((f) => ({ ...f, [field]: v }))
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      if (u) {
        const changes = changedSettings(shown, fields, settingsOf)
        if (Object.keys(changes).length > 0) await api('PATCH', `/v1/users/${encodeURIComponent(u.id)}`, changes)
      } else {
        await api('POST', '/v1/users', { id, ...settingsOf(fields) })
        setId('')
      }
      setError(null)
      props.onDone()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <form class="inline" onSubmit={submit} aria-label={u ? `Edit user ${u.id}` : 'New user'}>
      {!u && <Field label="User id" name="user-id" value={id} required onInput={setId} />}
      <Field label="Alias" name={u ? 'edit-alias' : 'alias'} value={fields.alias} onInput={set('alias')} />
      <Field label={BUDGET} name={u ? 'edit-budget' : 'budget'} inputMode="decimal" value={fields.budget} onInput={set('budget')} placeholder="unlimited" />
      <Select label="Period" name={u ? 'edit-period' : 'period'} value={fields.period} options={PERIODS} onInput={set('period')} />
      <button type="submit">{u ? 'Save' : 'Create user'}</button>
      <ErrorLine error={error} />
    </form>
  )
}

export function UsersPage() {
  const [refresh, setRefresh] = useState(0)
  const [editing, setEditing] = useState<string | null>(null)
  const editOpener = useRef<Element | null>(null)
  const [error, setError] = useState<string | null>(null)
  const list = usePaged<any>('/v1/users', refresh)
  const reload = () => {
    setEditing(null)
    setRefresh((n) => n + 1)
  }
  const saved = () => {
    setError(null)
    reload()
  }
  const edited = () => {
    saved()
    returnFocus(editOpener.current)
  }
  // The line tells of the last action only; the list is read again either way (a refusal such as a 404 says it
  // has changed under the page).
  const act = (fn: () => Promise<unknown>) => fn().then(() => setError(null), (e) => setError(e.message)).then(reload)
  return (
    <>
      <h1>Users</h1>
      <Section title="New user"><UserForm onDone={saved} /></Section>
      <ErrorLine error={error ?? list.error} />
      <table>
        <thead><tr><th>User</th><th>Budget</th><th>Spend</th><th>Reserved</th><th>Remaining</th><th>Period</th><th>Status</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {list.page?.data.map((u) => (
            <>
              <tr>
                <td>{u.id}{u.alias && <div class="muted">{u.alias}</div>}</td>
                <td><BudgetBar spend={u.spend} reserved={u.reserved} max={u.max_budget} /> {usd(u.max_budget)}</td>
                <td>{usd(u.spend)}</td><td>{usd(u.reserved)}</td><td>{usd(u.remaining)}</td>
                <td>{u.budget_period ?? 'lifetime'}{u.period_start && <div class="muted">since {when(u.period_start)}</div>}</td>
                <td>{u.blocked ? 'blocked' : 'active'}</td>
                <td><div class="actions">
                  <a href={`#/keys?user_id=${encodeURIComponent(u.id)}`}>Keys</a>
                  <button type="button" onClick={(e) => { editOpener.current = e.currentTarget; setEditing(editing === u.id ? null : u.id) }}>Edit</button>
                  <button type="button" onClick={() => act(() => api('PATCH', `/v1/users/${encodeURIComponent(u.id)}`, { blocked: !u.blocked }))}>
                    {u.blocked ? 'Unblock' : 'Block'}
                  </button>
                  <button type="button" onClick={() => confirm(`Delete user ${u.id} and all its keys?`) && act(() => api('DELETE', `/v1/users/${encodeURIComponent(u.id)}`))}>Delete</button>
                </div></td>
              </tr>
              {editing === u.id && <tr><td colSpan={8}><UserForm user={u} onDone={edited} /></td></tr>}
            </>
          ))}
        </tbody>
      </table>
      <Pager first={list.first} more={!!list.page?.next_cursor} next={list.next} prev={list.prev} />
    </>
  )
}

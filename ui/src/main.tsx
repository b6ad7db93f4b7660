import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, ApiError, type Session, setShownSession, whenSessionEnds, whenSessionReplaced } from './api'
import { Field, ErrorLine } from './components'
import { useForgetOnLeave } from './forget-on-leave'
import { useRoute } from './router'
import { AuditPage } from './pages/audit'
import { KeysPage } from './pages/keys'
import { MePage } from './pages/me'
import { OverviewPage } from './pages/overview'
import { PricesPage } from './pages/prices'
import { UsagePage } from './pages/usage'
import { UsersPage } from './pages/users'
import './style.css'

const ADMIN_PAGES: Array<[string, string]> = [
  ['overview', 'Overview'], ['users', 'Users'], ['keys', 'Keys'], ['prices', 'Prices'], ['usage', 'Usage'], ['audit', 'Audit'],
]

function SignIn(props: { onSignedIn: (s: Session) => void; ended: boolean }) {
  const [key, setKey] = useState('')
  useForgetOnLeave(() => setKey(''))
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      const session = await api<Session>('POST', '/v1/session', { key })
      // The key is forgotten at once: from here on the browser holds only the HttpOnly session cookie.
      setKey('')
      props.onSignedIn(session)
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <main class="signin">
      <h1>tollgate</h1>
      {props.ended && <p class="muted">The session has ended: sign in again.</p>}
      <form onSubmit={submit}>
        <Field label="Master key or your API key" name="key" type="password" value={key} required onInput={setKey} />
        <button type="submit">Sign in</button>
        <ErrorLine error={error} />
      </form>
      <p class="muted">The master key opens the admin console; a virtual key shows its own budget and usage.</p>
    </main>
  )
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined)
  const [ended, setEnded] = useState(false)
  const [signOutError, setSignOutError] = useState<string | null>(null)
  const route = useRoute()
  useEffect(() => {
    const load = () =>
      api<Session | { kind: null }>('GET', '/v1/session')
        .then((s) => {
          if (s.kind === null) return setSession(null)
          setShownSession(s)
          setSession(s)
        })
        .catch(() => setSession(null))
    load()
    // The session may have ended while the page sat in the back/forward cache: it is asked again.
    const restored = (e: PageTransitionEvent) => e.persisted && load()
    addEventListener('pageshow', restored)
    // Whatever a page shows of an ended session goes with it: back to the sign-in form.
    whenSessionEnds(() => {
      setShownSession(null)
      setEnded(true)
      setSession(null)
    })
    // Another tab signed in as the other kind: this one shows that kind's pages, not the last one's data.
    whenSessionReplaced(setSession)
    return () => removeEventListener('pageshow', restored)
  }, [])
  if (session === undefined) return <p class="muted">Loading…</p>
  if (session === null)
    return (
      <SignIn
        ended={ended}
        onSignedIn={(s) => {
          setShownSession(s)
          setEnded(false)
          setSession(s)
        }}
      />
    )
  // This tab's CSRF token is stale once another tab has signed in again (a new session): sign out with the
  // browser's current session and token, and show the sign-in form only once the browser holds no session.
  const signOut = async () => {
    try {
      const current = await api<Session | { kind: null }>('GET', '/v1/session')
      if (current.kind !== null) {
        setShownSession(current)
        await api('DELETE', '/v1/session')
      }
    } catch (err) {
      // 401: the session ended meanwhile (expired, or signed out in another tab); anything else left it live.
      if (!(err instanceof ApiError && err.status === 401)) return setSignOutError(`Not signed out: ${(err as Error).message}`)
    }
    setSignOutError(null)
    setShownSession(null)
    setSession(null)
    location.hash = ''
  }
  const pages: Array<[string, string]> = session.kind === 'admin' ? ADMIN_PAGES : [['me', 'My key']]
  const current = pages.some(([p]) => p === route.page) ? route.page : pages[0]![0]
  return (
    <>
      <header>
        <strong>tollgate</strong>
        <nav aria-label="console">
          {pages.map(([page, title]) => (
            <a href={`#/${page}`} aria-current={page === current ? 'page' : undefined}>{title}</a>
          ))}
        </nav>
        <button type="button" onClick={signOut}>Sign out</button>
      </header>
      <main>
        <ErrorLine error={signOutError} />
        {current === 'overview' && <OverviewPage />}
        {current === 'users' && <UsersPage />}
        {current === 'keys' && <KeysPage params={route.params} />}
        {current === 'prices' && <PricesPage params={route.params} />}
        {current === 'usage' && <UsagePage params={route.params} />}
        {current === 'audit' && <AuditPage />}
        {current === 'me' && <MePage />}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)

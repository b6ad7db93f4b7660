import { Elysia } from 'elysia'
import { acceptsSession, SESSION_PATH, sessionOf } from '../console/session-auth'
import type { ConsoleSession, SessionStore } from '../console/sessions'
import { forbidden, unauthorized } from '../http/errors'
import { requestState } from '../http/request-state'
import { MASTER, type Caller, type KeyCaller } from '../keys/caller'
import type { KeyStore } from '../keys/key-store'
import { createMasterKeyCheck, hashKey } from '../keys/secret'

// /metrics checks its own credential (the master key or the metrics token) and is off by default.
// /ui is the console's page and its assets; what it shows comes from the API, behind a session.
const PUBLIC_PATHS = new Set(['/health', '/docs', '/docs/json', '/metrics', '/ui'])
const STATIC_ASSET = /^\/(docs|ui)\/assets\/[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/

/**
 * Public is an exact list; everything else needs a credential, whatever the path looks like. So
 * `//v1/keys`, `/v1/./keys`, `/V1/keys`, encoded slashes, HEAD or an unknown route can never reach a
 * handler unauthenticated: they are refused here, before routing matters.
 */
export function isPublic(path: string, method: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  return PUBLIC_PATHS.has(path) || STATIC_ASSET.test(path)
}

/**
 * Administration paths, refused to any other caller here, before the body is read: Elysia parses a body
 * before any route hook runs, so the admin plugin's own guard (which stays, as the structural one) would
 * otherwise answer a malformed body with 400 and tell a non-admin something about the route.
 */
const ADMIN_PATH = /^\/v1\/(users|keys|pricing|usage|audit|alerts|providers)(\/|$)/

/** Duplicate slashes and `.` segments removed, as a router may treat them. */
const collapse = (path: string) => path.replace(/\/{2,}/g, '/').replace(/\/\.(?=\/|$)/g, '')

export const isAdminPath = (path: string) => ADMIN_PATH.test(collapse(path))

/**
 * `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key: <key>` (Anthropic SDKs); a Bearer key wins when
 * both are sent. An `Authorization` that is no Bearer key is not ours (a reverse proxy's Basic auth in front
 * of the gateway, which nginx and Traefik pass on), so `x-api-key` is read beside it.
 */
export function credentialOf(headers: Headers): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '')
  if (bearer) return bearer[1]!
  const apiKey = headers.get('x-api-key')?.trim()
  return apiKey || null
}

function admit(state: ReturnType<typeof requestState>, caller: Caller | null): void {
  if (!caller) throw unauthorized()
  state.caller = caller
  if (caller.kind === 'key') {
    state.userId = caller.userId
    if (isAdminPath(state.path)) throw forbidden('admin_only', 'This route needs the master key.')
  }
}

/** The key as it is now: its request goes on with these allowed models, limits and settings, or is refused as at the edge. */
function readmit(state: ReturnType<typeof requestState>, caller: KeyCaller | null): void {
  if (!caller) throw unauthorized()
  state.caller = caller
}

/** The session as it is now, or refused as at the edge: signed out, past its age, or its key gone. */
function readmitSession(state: ReturnType<typeof requestState>, [session]: ConsoleSession[]): void {
  if (!session) throw unauthorized('The console session has ended: sign in at /ui.')
  state.session = session
  admit(state, session.caller)
}

/**
 * Signing in to the console is how a browser gets a credential: the route checks its own Origin and rate
 * limit. Asking whether one is signed in answers either way (the console's first call).
 */
const isSignIn = (path: string, method: string) => (method === 'POST' || method === 'GET') && path === SESSION_PATH

/**
 * A key in a header, on every route; or, on the admin API and the self-service routes only (never on
 * inference), a console session cookie. The header path is the hot one and is tried first.
 *
 * A header key is checked again once the body is in, before the route's handler: a body may take as long as
 * its client likes to arrive, and the key may be revoked, rotated away, expired or narrowed meanwhile. The
 * key store's cache is what revoke, rotate and edits (here or, through the change feed, on another replica)
 * invalidate, so the second check is a map lookup unless the key changed (or its entry outlived the TTL,
 * as on any request). A console session is looked up again likewise (one indexed read, cookie requests only):
 * it may have been signed out or passed its maximum or idle age while the body arrived.
 */
export const auth = (options: { masterKey: string; keys: KeyStore; sessions: SessionStore; trustProxy: boolean }) => {
  const isMaster = createMasterKeyCheck(options.masterKey)
  return new Elysia({ name: 'auth' })
    .onRequest(({ request }) => {
      const state = requestState(request)
      if (state.preflight || isPublic(state.path, request.method)) return
      const secret = credentialOf(request.headers)
      if (secret) {
        if (isMaster(secret)) return admit(state, MASTER)
        state.keyHash = hashKey(secret)
        const caller = options.keys.verifyHash(state.keyHash)
        // A key the cache does not hold, on Postgres, is a query away: only then is this hook async.
        if (caller instanceof Promise) return caller.then((c) => admit(state, c))
        return admit(state, caller)
      }
      if (isSignIn(state.path, request.method)) return
      if (!acceptsSession(collapse(state.path), isAdminPath)) throw unauthorized('Missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".')
      return sessionOf(request, collapse(state.path), options.sessions, options.trustProxy, isAdminPath).then((session) => {
        state.session = session
        admit(state, session.caller)
      })
    })
    .onBeforeHandle({ as: 'global' }, async ({ request }) => {
      const state = requestState(request)
      if (state.session) return readmitSession(state, await options.sessions.resolve([state.session.token]))
      if (state.keyHash === undefined) return
      const caller = options.keys.verifyHash(state.keyHash)
      readmit(state, caller instanceof Promise ? await caller : caller)
    })
}

import { Elysia } from 'elysia'
import { z } from 'zod'
import { clientSource } from '../http/client-source'
import { forbidden, rateLimited, unauthorized } from '../http/errors'
import { requestState } from '../http/request-state'
import { MASTER } from '../keys/caller'
import { createMasterKeyCheck, hashKey, MASTER_KEY_MAX_LENGTH } from '../keys/secret'
import { isHttps } from '../plugins/security-headers'
import type { Services } from '../services'
import { cookieSession, HOST_SESSION_COOKIE, isSameOrigin, SESSION_COOKIE, SESSION_PATH, sessionTokens } from './session-auth'
import type { SessionKind, SessionStore } from './sessions'

// A virtual key is far shorter; the master key's configuration takes none longer than this.
const signIn = z.object({ key: z.string().min(1).max(MASTER_KEY_MAX_LENGTH).describe('The master key (admin session) or a virtual key (its own read-only session)') }).strict()

const sessionInfo = (kind: SessionKind, csrfToken: string, expiresAt: number, keyId: string | null) => ({
  kind,
  csrf_token: csrfToken,
  expires_at: new Date(expiresAt).toISOString(),
  key_id: keyId,
})

/**
 * The console's sign-in: a key exchanged once for a session cookie (HttpOnly, SameSite=Strict, Secure and
 * `__Host-` named over HTTPS), so that the browser never keeps the key. Sign-in needs this site's Origin (no login CSRF) and
 * is rate limited per client address (an IPv6 one by its /64): with Redis, one count for every replica, and
 * while Redis is unreachable, TOLLGATE_REDIS_FAILURE decides as for the other limits (`open`: each process
 * counts alone, so guesses stay limited; `closed`: 503).
 */
export const sessionRoutes = (services: Services, sessions: SessionStore) => {
  const { config, keys } = services
  const isMaster = createMasterKeyCheck(config.master_key)
  const attempts = services.rateLimits.signIn
  const attributes = '; Path=/; HttpOnly; SameSite=Strict'
  /**
   * The session cookie, `__Host-` named over HTTPS. There a cookie of the plain name (a sign-in from before
   * the cookie took that name) is expired with it, so that a browser is left holding one.
   */
  const sessionCookies = (request: Request, value: string, maxAgeSec: number): string[] =>
    isHttps(request, config.trust_proxy)
      ? [`${HOST_SESSION_COOKIE}=${value}${attributes}; Max-Age=${maxAgeSec}; Secure`, `${SESSION_COOKIE}=${attributes}; Max-Age=0; Secure`]
      : [`${SESSION_COOKIE}=${value}${attributes}; Max-Age=${maxAgeSec}`]
  /** Every session the request's cookies carry: the browser's own, and any another page planted. */
  const endCarried = (request: Request) => sessions.end(sessionTokens(request.headers))

  return new Elysia({ name: 'console-sessions' })
    .post(
      SESSION_PATH,
      async ({ body, request, set }) => {
        if (!isSameOrigin(request, config.trust_proxy)) throw forbidden('origin_mismatch', 'Sign in from the console of this gateway.')
        const state = requestState(request)
        const decision = await attempts.hit(clientSource(state.clientIp) ?? 'unknown', config.console_sign_ins_per_min)
        if (!decision.allowed) throw rateLimited(decision.retryAfter, 'Too many sign-in attempts; wait a minute.')
        let started
        if (isMaster(body.key)) {
          // Recorded as the master key's request, in a log row of its own (refusals before any key are folded).
          state.caller = MASTER
          started = { kind: 'admin' as const, ...(await sessions.create('admin', null)), keyId: null }
        } else {
          const caller = await keys.verify(body.key)
          // Its user's block, and the key's state again, are checked in the transaction that writes the session.
          const session = caller && (await sessions.create('key', { id: caller.keyId, hash: hashKey(body.key) }))
          if (!caller || !session) throw unauthorized('Unknown, expired or revoked key (or its user is blocked).')
          state.caller = caller
          state.userId = caller.userId
          started = { kind: 'key' as const, ...session, keyId: caller.keyId }
        }
        // A browser signing in again leaves no older session behind: neither its own nor one planted in it.
        await endCarried(request)
        set.headers['set-cookie'] = sessionCookies(request, started.token, Math.floor(sessions.limits.maxMs / 1000))
        set.headers['cache-control'] = 'no-store'
        return sessionInfo(started.kind, sessions.csrfToken(started.token), started.expiresAt, started.keyId)
      },
      {
        body: signIn,
        parse: 'json',
        detail: {
          tags: ['console'],
          summary: 'Sign in to the console: exchange a key for a session cookie (Origin of this site required; rate limited)',
          security: [],
        },
      },
    )
    .get(
      SESSION_PATH,
      async ({ request, set }) => {
        set.headers['cache-control'] = 'no-store'
        const session = await cookieSession(request.headers, sessions)
        if (!session) return { kind: null }
        return sessionInfo(session.kind, sessions.csrfToken(session.token), session.expiresAt, session.caller.kind === 'key' ? session.caller.keyId : null)
      },
      {
        detail: {
          tags: ['console'],
          summary: 'The console session of this browser and its CSRF token; kind null when not signed in (session cookie only)',
          security: [],
        },
      },
    )
    .delete(
      SESSION_PATH,
      async ({ request, set }) => {
        const session = requestState(request).session
        if (!session) throw unauthorized('No console session: sign in at /ui.')
        // The session in use is among them; a planted one left live would be what this browser shows next.
        await endCarried(request)
        set.headers['set-cookie'] = sessionCookies(request, '', 0)
        return { signed_out: true }
      },
      {
        detail: {
          tags: ['console'],
          summary: 'Sign out (the session ends at once; needs the CSRF token)',
          description: "Takes the session cookie and its CSRF token, with this site's Origin; a key sent as a header is no session (401).",
          security: [{ session: [], csrf: [] }],
        },
      },
    )
}

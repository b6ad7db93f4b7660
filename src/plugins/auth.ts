import { Elysia } from 'elysia'
import { unauthorized } from '../http/errors'
import { requestState } from '../http/request-state'
import { MASTER } from '../keys/caller'
import type { KeyStore } from '../keys/key-store'
import { createMasterKeyCheck } from '../keys/secret'

const PUBLIC_PATHS = new Set(['/health', '/docs', '/docs/json'])
const DOCS_ASSET = /^\/docs\/assets\/[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/

/**
 * Public is an exact list; everything else needs a credential, whatever the path looks like. So
 * `//v1/keys`, `/v1/./keys`, `/V1/keys`, encoded slashes, HEAD or an unknown route can never reach a
 * handler unauthenticated: they are refused here, before routing matters.
 */
export function isPublic(path: string, method: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  return PUBLIC_PATHS.has(path) || DOCS_ASSET.test(path)
}

/** `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key: <key>` (Anthropic SDKs). */
export function credentialOf(headers: Headers): string | null {
  const authorization = headers.get('authorization')
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    return match ? match[1]! : null
  }
  const apiKey = headers.get('x-api-key')?.trim()
  return apiKey || null
}

export const auth = (options: { masterKey: string; keys: KeyStore }) => {
  const isMaster = createMasterKeyCheck(options.masterKey)
  return new Elysia({ name: 'auth' })
    .onRequest(({ request }) => {
      const state = requestState(request)
      if (isPublic(state.path, request.method)) return
      const secret = credentialOf(request.headers)
      if (!secret) throw unauthorized('Missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".')
      const caller = isMaster(secret) ? MASTER : options.keys.verify(secret)
      if (!caller) throw unauthorized()
      state.caller = caller
      if (caller.kind === 'key') state.userId = caller.userId
    })
}

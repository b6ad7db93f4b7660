/**
 * SPEC §3: `GET /health` is unauthenticated, and /docs is the OpenAPI document of the API. The document's global
 * `security` (bearer or x-api-key) must not apply where the route takes no such credential: /health takes none (a
 * generated client would demand a key, Swagger UI would show a lock, and a load balancer's health check written from
 * /docs would carry the master key for nothing), and sign-out takes only the console session cookie.
 */
import { expect, test } from 'bun:test'
import { SESSION_COOKIE } from '../src/console/session-auth'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('/health answers without a credential, and /docs publishes it as needing none', async () => {
  const res = await fetch(`${gw.url}/health`)
  expect(res.status).toBe(200)

  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const op = doc.paths['/health'].get
  // An operation's own `security` replaces the document's; `[]` is OpenAPI's "no credential".
  const effective = op.security ?? doc.security ?? []
  expect(effective).toEqual([])
})

/**
 * DELETE /v1/session (sign out) takes only the console's session cookie (and its CSRF token): the master key as a
 * bearer gets 401 "No console session", so /docs must publish the cookie, not the key headers.
 */
test('sign-out publishes the session cookie it takes, not a key it refuses', async () => {
  const res = await fetch(`${gw.url}/v1/session`, { method: 'DELETE', headers: gw.master })
  expect(res.status).toBe(401)

  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const op = doc.paths['/v1/session'].delete
  const effective: Array<Record<string, unknown>> = op.security ?? doc.security ?? []
  const schemes = effective.flatMap((requirement) => Object.keys(requirement))
  expect(schemes.filter((s) => s === 'bearer' || s === 'apiKey')).toEqual([])
  const cookies = schemes.map((s) => doc.components.securitySchemes[s]).filter((s) => s?.in === 'cookie')
  expect(cookies).toEqual([expect.objectContaining({ type: 'apiKey', name: SESSION_COOKIE })])
})

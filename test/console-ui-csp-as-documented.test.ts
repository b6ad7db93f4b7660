/**
 * Mutation guard: README "Admin console" gives `/ui` its own CSP,
 * `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none';
 * form-action 'none'; frame-ancestors 'none'`. The existing /ui test checked only `script-src 'self'` and the absence of
 * unsafe-inline/unsafe-eval: dropping `frame-ancestors 'none'` (the console framed by another site: clickjacking of
 * its revoke, block and budget buttons), `base-uri` or `form-action` from the policy passed it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw.stop()
})

/** The directives README lists for /ui, as a set (their order is not the promise). */
function documentedPolicy(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\n/g, ' ')
  const policy = /`\/ui` has its own CSP: `([^`]+)`/.exec(readme)
  expect(policy).not.toBeNull()
  return policy![1]!.split(';').map((d) => d.trim()).filter(Boolean).sort()
}

const directives = (csp: string | null) => (csp ?? '').split(';').map((d) => d.trim()).filter(Boolean).sort()

test('/ui carries the CSP README documents, frame-ancestors included, and refuses framing', async () => {
  const documented = documentedPolicy()
  expect(documented).toContain("frame-ancestors 'none'")
  for (const path of ['/ui']) {
    const res = await fetch(gw.url + path)
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    expect({ path, csp: directives(res.headers.get('content-security-policy')), frame: res.headers.get('x-frame-options') }).toEqual({
      path, csp: documented, frame: 'DENY',
    })
  }
})

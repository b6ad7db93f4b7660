/**
 * README, Admin CLI: exit 0 is "done"; an answer that is not the admin API's "must not pass for a write done"
 * (src/cli/admin-api.ts). The CLI's fetch followed redirects (the default), and fetch turns a POST answered 301 or 302
 * into a GET of the new location. Behind a reverse proxy that moved the gateway under a prefix with a same-origin 301
 * (`/v1/…` → `/tollgate/v1/…`), `tollgate prices set` and `tollgate users create` POSTed, were redirected, GOT the
 * list at the new place, printed it as the record written and exited 0: nothing was written. A redirect is now
 * refused (exit 1) naming where it points, as the webhook sender refuses one.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let mock: MockProvider
let gw: TestGateway
let proxy: ReturnType<typeof Bun.serve>

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  proxy = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      // The gateway moved under /tollgate: the old paths answer a permanent redirect, on the same origin.
      if (!url.pathname.startsWith('/tollgate/'))
        return new Response(null, { status: 301, headers: { location: `/tollgate${url.pathname}${url.search}` } })
      const headers = new Headers(req.headers)
      headers.delete('host')
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer()
      const res = await fetch(`${gw.url}${url.pathname.slice('/tollgate'.length)}${url.search}`, { method: req.method, headers, body, redirect: 'manual' })
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers })
    },
  })
})
afterAll(async () => {
  proxy.stop(true)
  await gw.stop()
  await mock.stop()
})

const at = () => `http://127.0.0.1:${proxy.port}`

test('prices set through a redirecting proxy exits 1 naming the redirect, nothing written', async () => {
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body.input_per_million).toBe(1)
  const { code, stderr } = await runTollgate(at(), ['prices', 'set', 'mock:gpt-mock', '--input', '5', '--output', '20'])
  expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringContaining('answered 301, a redirect to /tollgate/v1/pricing') })
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body.input_per_million).toBe(1)
})

test('users create through a redirecting proxy exits 1, no user made', async () => {
  const { code, stderr } = await runTollgate(at(), ['users', 'create', 'team-redirect', '--budget', '5'])
  expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringContaining('a redirect to /tollgate/v1/users') })
  expect((await gw.admin('GET', '/v1/users/team-redirect')).status).toBe(404)
})

test('the address the proxy redirects to serves the same commands', async () => {
  const { code } = await runTollgate(`${at()}/tollgate`, ['prices', 'set', 'mock:gpt-mock', '--input', '5', '--output', '20'])
  expect(code).toBe(0)
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body.input_per_million).toBe(5)
})

/**
 * Issue 12 items 10 and 14: an error that escapes the app altogether (a response body that fails as it
 * starts, as a missing file did for /docs/assets/constructor) is answered by Bun's own `error` handler.
 * With the gateway's listen options it is our 500 (error shape, security headers), never Bun's development
 * page with its stack and working directory. A server with exactly those options and a handler that lets
 * such errors escape shows it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { configSchema } from '../src/config/schema'
import { createLogger } from '../src/log/logger'
import { listenOptions } from '../src/server'
import { MASTER_KEY, ROOT } from './support/gateway'

function serveEscaping() {
  const config = configSchema.parse({ master_key: MASTER_KEY, port: 0, db: ':memory:' })
  return Bun.serve({
    ...listenOptions(config, {}, createLogger('silent')),
    fetch(req) {
      if (req.url.endsWith('/file')) return new Response(Bun.file(`${ROOT}/no-such-file`))
      throw new Error(`thrown in ${ROOT}`)
    },
  })
}

describe('an error past the app', () => {
  let server: ReturnType<typeof Bun.serve>
  beforeAll(() => {
    server = serveEscaping()
  })
  afterAll(() => server.stop(true))

  test('a failing file body and a throw: our JSON 500 with the security headers, no stack, no path', async () => {
    for (const path of ['/file', '/throw']) {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`)
      const text = await res.text()
      expect({ path, status: res.status }).toEqual({ path, status: 500 })
      expect(JSON.parse(text)).toEqual({ error: { message: 'The gateway failed to handle this request.', type: 'api_error', code: 'internal_error', param: null } })
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(text).not.toContain(ROOT)
    }
  })

  test('the listen options never share the port', () => {
    const config = configSchema.parse({ master_key: MASTER_KEY, port: 0, db: ':memory:' })
    expect(listenOptions(config, {}, createLogger('silent'))).toMatchObject({ reusePort: false, development: false })
  })
})

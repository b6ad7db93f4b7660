/**
 * Issue 12 item 10: an asset name that is an Object.prototype property (`constructor`, `__proto__`…) is an
 * unknown asset like any other: our 404, through the error handler, with the edge headers, audited as 404,
 * and nothing of the server's file system in it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ROOT, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(() => gw.stop())

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable']

describe('/docs/assets/<Object.prototype name>', () => {
  test('is a 404 in our error shape, with the security headers, never the working directory', async () => {
    for (const name of PROTOTYPE_NAMES) {
      // Asset names without an extension are not public: the master key takes the request to the route.
      const res = await fetch(`${gw.url}/docs/assets/${name}`, { headers: gw.master })
      const text = await res.text()
      expect({ name, status: res.status }).toEqual({ name, status: 404 })
      expect({ name, code: JSON.parse(text).error.code }).toEqual({ name, code: 'not_found' })
      expect({ name, nosniff: res.headers.get('x-content-type-options') }).toEqual({ name, nosniff: 'nosniff' })
      expect({ name, requestId: res.headers.get('x-request-id')?.length }).toEqual({ name, requestId: 36 })
      expect(text).not.toContain(ROOT)
      expect(text).not.toContain('node_modules')
      await gw.settled()
      const rows = gw.query('SELECT status FROM api_request_log WHERE request_id = ?', res.headers.get('x-request-id'))
      expect({ name, rows }).toEqual({ name, rows: [{ status: 404 }] })
    }
  })

  test('the real assets are still served', async () => {
    for (const name of ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'init.js']) {
      const res = await fetch(`${gw.url}/docs/assets/${name}`)
      expect({ name, status: res.status }).toEqual({ name, status: 200 })
      await res.arrayBuffer()
    }
  })
})

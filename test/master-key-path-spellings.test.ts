/**
 * The master key pasted into a base URL is cut from the request log and the log line in the spelling the URL
 * parser leaves of it in the path, not only as written or percent-escaped: for http(s) it turns `\` into `/`,
 * and a `?` (the query) or `#` (the fragment, never sent) ends the path there. A master key a password generator
 * made with one of those (masterKeyWeakness accepts them) was kept whole with `/` for `\`, or as everything
 * before its `?`/`#`, in GET /v1/audit, api_request_log and stdout.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { masterKeyWeakness } from '../src/keys/secret'

const lines: string[] = []
const write = process.stdout.write.bind(process.stdout)
beforeAll(() => {
  ;(process.stdout as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
    lines.push(String(chunk))
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest)
  }
})
afterAll(() => {
  ;(process.stdout as { write: unknown }).write = write
})

const decoded = (text: string) => text.replace(/%[0-9A-Fa-f]{2}/g, (e) => String.fromCharCode(parseInt(e.slice(1), 16)))

/** Sends the key as part of the path, as an SDK given `http://gateway/v1/<key>` as its base URL does, and returns what was kept. */
async function keptAfterKeyInPath(master: string): Promise<{ audit: string; stored: string; logged: string }> {
  expect(masterKeyWeakness(master)).toBeNull()
  const gw: TestGateway = await startTestGateway({ config: { master_key: master, log_level: 'info' } })
  try {
    lines.length = 0
    const res = await fetch(`${gw.url}/v1/${master}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x:y', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(401)
    const auditRes = await fetch(`${gw.url}/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${master}` } })
    expect(auditRes.status).toBe(200)
    await Bun.sleep(50)
    return {
      audit: decoded(await auditRes.text()),
      stored: decoded(JSON.stringify(gw.query('SELECT route FROM api_request_log')) + JSON.stringify(gw.query('SELECT * FROM refusal_counts'))),
      logged: decoded(lines.join('')),
    }
  } finally {
    await gw.stop()
  }
}

describe('a master key pasted into the path, in the spelling the URL parser gives it', () => {
  test('with a backslash (sent and logged with "/" in its place): not kept whole', async () => {
    const master = 'Zq7^mW2{xK9}pL4|vB8n\\R3tY6hJ1cF5aD0eG'
    const asParsed = master.replaceAll('\\', '/')
    const kept = await keptAfterKeyInPath(master)
    expect(kept.logged).toContain('"status":401')
    expect({ audit: kept.audit.includes(asParsed), stored: kept.stored.includes(asParsed), logged: kept.logged.includes(asParsed) })
      .toEqual({ audit: false, stored: false, logged: false })
  })

  for (const [name, master] of [['?', 'Zq7^mW2{xK9}pL4|vB8nR3tY6hJ1cF5?aD0eG'], ['#', 'Zq7^mW2{xK9}pL4|vB8nR3tY6hJ1cF5#aD0eG']] as const)
    test(`with a "${name}" (the path holds all of it before the "${name}"): that part is not kept`, async () => {
      const beforeCut = master.slice(0, master.indexOf(name))
      const kept = await keptAfterKeyInPath(master)
      expect(kept.logged).toContain('"status":401')
      expect({ audit: kept.audit.includes(beforeCut), stored: kept.stored.includes(beforeCut), logged: kept.logged.includes(beforeCut) })
        .toEqual({ audit: false, stored: false, logged: false })
    })
})

/**
 * SPEC §2: "an invalid value stops startup with … a message that names the field". A provider's `base_url` is
 * one the gateway appends its paths to (`/chat/completions`, `/v1/messages`…): a query would swallow them
 * (`?key=SECRET` → `POST /v1?key=SECRET/chat/completions`, the key echoed back by a provider's 404), a fragment
 * is never sent (every request goes to `/v1`), a scheme typo fails every request with a 502, and `file://` has
 * Bun's fetch read the file and answer 200 with it. Each is refused at startup, naming the field, not per request.
 */
import { describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load'
import { configSchema } from '../src/config/schema'
import { MASTER_KEY, tempDir } from './support/gateway'

const QUERY_KEY = 'qk-9d8c7b6a5f4e3d2c1b0a'
const parse = (base_url: string) => configSchema.safeParse({ master_key: MASTER_KEY, providers: { q: { type: 'openai', base_url } } })

describe('a provider base_url', () => {
  test('one the gateway cannot append a path to, or not http(s), is refused at startup, naming the field', () => {
    for (const base_url of [
      `https://proxy.example/v1?key=${QUERY_KEY}`, // the path lands in the query: POST /v1?key=…/chat/completions
      'https://proxy.example/v1?', // an empty query still swallows the path
      'https://proxy.example/v1#frag', // the path lands in the fragment, which is never sent: POST /v1
      'htps://api.openai.com/v1', // a typo: every request a 502 "could not be reached"
      'file:///srv/fixtures/v1', // Bun's fetch reads the file and answers 200 with it
    ]) {
      const parsed = parse(base_url)
      expect({ base_url, refused: !parsed.success }).toEqual({ base_url, refused: true })
      expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain('providers.q.base_url')
    }
  })

  test('http(s) with a host, a port, a path, userinfo or a trailing slash is accepted (the slash dropped)', () => {
    for (const [base_url, kept] of [
      ['https://api.openai.com/v1', 'https://api.openai.com/v1'],
      ['http://127.0.0.1:11434/v1/', 'http://127.0.0.1:11434/v1'],
      ['http://localhost:1234/v1', 'http://localhost:1234/v1'],
      ['https://alice:pw@proxy.example/v1', 'https://alice:pw@proxy.example/v1'],
    ] as const)
      expect(parse(base_url).data?.providers.q?.base_url).toBe(kept)
  })

  test('the startup refusal is a line naming the field, without the query it refuses', () => {
    const dir = tempDir()
    const file = join(dir, 'config.yaml')
    writeFileSync(file, `providers:\n  q: { type: openai, base_url: "https://proxy.example/v1?key=${QUERY_KEY}" }\n`)
    let message = ''
    try {
      loadConfig({ TOLLGATE_CONFIG: file, TOLLGATE_MASTER_KEY: MASTER_KEY })
    } catch (e) {
      message = (e as Error).message
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(message).toMatch(/^ {2}providers\.q\.base_url: must have no query/m)
    expect(message).not.toContain(QUERY_KEY)
  })
})

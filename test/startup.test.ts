/**
 * SPEC §2 at startup: fail closed on a missing or weak master key, name the field of an invalid value,
 * `${VAR}` in the file (unset → refuse; set → used, never printed), environment over file.
 * Each refusal is a real `bun src/index.ts` that must exit 1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, runGatewayExpectingExit, spawnGateway, tempDir } from './support/gateway'

type Exit = Awaited<ReturnType<typeof runGatewayExpectingExit>>

const dir = tempDir('tollgate-startup-')
const yaml = (name: string, text: string) => {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

const KEY_20 = 'short-master-k3y-20c'
const KEY_31 = 'almost-long-enough-master-k3y31'
const FILE_SECRET = 'tok-secret-9x' // 13 characters: metrics_token needs 16
const UPSTREAM_SECRET = 'sk-upstream-from-env-7c1d9e2f4a6b8c0d'

/** Every refused start runs at once (each is its own process), then each test reads its own result. */
const refusals: Record<string, Promise<Exit>> = {}
const refused = (name: string, env: Record<string, string>) => (refusals[name] = runGatewayExpectingExit(env))

beforeAll(() => {
  expect(KEY_20.length).toBe(20)
  expect(KEY_31.length).toBe(31)
  expect(FILE_SECRET.length).toBeLessThan(16)
  refused('no master key', {})
  refused('empty master key', { TOLLGATE_MASTER_KEY: '' })
  refused('20-char master key', { TOLLGATE_MASTER_KEY: KEY_20 })
  refused('31-char master key', { TOLLGATE_MASTER_KEY: KEY_31 })
  refused('port abc', { TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: 'abc' })
  refused('require_pricing maybe', { TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_REQUIRE_PRICING: 'maybe' })
  refused('cors not a url', { TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CORS_ALLOWED_ORIGINS: 'not-a-url' })
  refused('cors with a path', { TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CORS_ALLOWED_ORIGINS: 'https://app.example.com/path' })
  refused('unset variable', {
    TOLLGATE_MASTER_KEY: MASTER_KEY,
    TOLLGATE_CONFIG: yaml(
      'unset-var.yaml',
      [
        'providers:',
        '  openai:',
        '    type: openai',
        '    base_url: https://api.openai.com/v1',
        '    api_key: ${TOLLGATE_TEST_UNSET_VAR_XYZ}',
        '',
      ].join('\n'),
    ),
  })
  refused('secret in an invalid field', {
    TOLLGATE_MASTER_KEY: MASTER_KEY,
    FILE_TOKEN: FILE_SECRET,
    TOLLGATE_CONFIG: yaml('short-token.yaml', 'metrics_enabled: true\nmetrics_token: ${FILE_TOKEN}\n'),
  })
  refused('bad provider url', {
    TOLLGATE_MASTER_KEY: MASTER_KEY,
    TOLLGATE_CONFIG: yaml('bad-url.yaml', 'providers:\n  acme:\n    type: openai\n    base_url: not a url\n'),
  })
})

afterAll(async () => {
  await Promise.allSettled(Object.values(refusals))
  rmSync(dir, { recursive: true, force: true })
})

async function expectRefusal(name: string, mentions: Array<string | RegExp>): Promise<Exit> {
  const result = await refusals[name]!
  expect({ name, code: result.code }).toEqual({ name, code: 1 })
  expect(result.output).not.toContain('listening on')
  // A deliberate refusal, not a crash with a stack trace.
  expect(result.output).toContain('[tollgate] refusing to start')
  for (const m of mentions)
    if (typeof m === 'string') expect(result.output).toContain(m)
    else expect(result.output).toMatch(m)
  return result
}

describe('master key: fail closed', () => {
  test('unset: exit 1, naming master_key', async () => {
    await expectRefusal('no master key', ['master_key'])
  })

  test('empty: exit 1, naming master_key', async () => {
    await expectRefusal('empty master key', ['master_key'])
  })

  test('31 characters: exit 1, saying 32, without printing the key', async () => {
    const r = await expectRefusal('31-char master key', ['master_key', '32'])
    expect(r.output).not.toContain(KEY_31)
  })

  test('20 characters: exit 1, and the key never appears in the output', async () => {
    const r = await expectRefusal('20-char master key', ['master_key', '32'])
    expect(r.output).not.toContain(KEY_20)
    expect(r.output).not.toContain(KEY_20.slice(0, 12))
  })
})

describe('an invalid value names its field', () => {
  test('TOLLGATE_PORT=abc → port', async () => {
    await expectRefusal('port abc', [/\bport\b/])
  })

  test('TOLLGATE_REQUIRE_PRICING=maybe → require_pricing', async () => {
    await expectRefusal('require_pricing maybe', ['require_pricing'])
  })

  test('TOLLGATE_CORS_ALLOWED_ORIGINS=not-a-url → cors_allowed_origins', async () => {
    await expectRefusal('cors not a url', ['cors_allowed_origins'])
  })

  test('an origin with a path is not an exact origin → cors_allowed_origins', async () => {
    await expectRefusal('cors with a path', ['cors_allowed_origins'])
  })

  test('a provider base_url that is not a URL (file) → providers.acme.base_url', async () => {
    await expectRefusal('bad provider url', ['providers.acme.base_url'])
  })
})

describe('${VAR} in the config file', () => {
  test('an unset variable stops startup, naming the variable', async () => {
    await expectRefusal('unset variable', ['TOLLGATE_TEST_UNSET_VAR_XYZ'])
  })

  test('a secret read from the environment into an invalid field is named by field, never printed', async () => {
    const r = await expectRefusal('secret in an invalid field', ['metrics_token'])
    expect(r.output).not.toContain(FILE_SECRET)
  })

  describe('a set variable', () => {
    let mock: MockProvider
    beforeAll(() => {
      mock = startMockProvider()
    })
    afterAll(async () => {
      await mock.stop()
    })

    test('is used as the provider api_key and never appears in the output', async () => {
      const file = yaml(
        'set-var.yaml',
        [
          'providers:',
          '  mock:',
          '    type: openai',
          `    base_url: ${mock.url}/v1`,
          '    api_key: ${TOLLGATE_TEST_UPSTREAM_KEY}',
          'pricing:',
          '  mock:gpt-mock:',
          '    input_per_million: 1',
          '    output_per_million: 2',
          '',
        ].join('\n'),
      )
      const gw = await spawnGateway({ env: { TOLLGATE_CONFIG: file, TOLLGATE_TEST_UPSTREAM_KEY: UPSTREAM_SECRET } })
      try {
        expect((await fetch(`${gw.url}/health`)).status).toBe(200)
        const { secret } = await gw.userWithKey({ id: 'startup-team', max_budget: 5 })
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
        })
        expect(res.status).toBe(200)
        await res.arrayBuffer()
        // The variable was expanded: the provider got the secret from the environment.
        expect(mock.calls.at(-1)?.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`)
        // A refused request and an upstream failure are logged too; neither may print the secret.
        expect((await fetch(`${gw.url}/v1/users`)).status).toBe(401)
        mock.queue('fail-500')
        const failed = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
        })
        expect(failed.status).toBeGreaterThanOrEqual(500)
        const failedText = await failed.text()
        expect(failedText).not.toContain(UPSTREAM_SECRET)
        await gw.settled()
      } finally {
        await gw.stop()
      }
      const out = gw.output()
      expect(out).toContain('listening on')
      expect(out).not.toContain(UPSTREAM_SECRET)
      expect(out).not.toContain(UPSTREAM_SECRET.slice(-16))
      expect(out).not.toContain(MASTER_KEY)
    })
  })
})

describe('environment wins over the file', () => {
  test('file port (busy) and master key are overridden by TOLLGATE_PORT=0 and TOLLGATE_MASTER_KEY', async () => {
    // A port that is taken: had the file's value won, the gateway could not listen.
    const blocker = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const fileKey = 'file-master-key-that-must-lose-0123456789'
    const file = yaml('env-wins.yaml', `port: ${blocker.port}\nhost: 127.0.0.1\nmaster_key: ${fileKey}\nrequire_pricing: false\n`)
    try {
      const gw = await spawnGateway({ env: { TOLLGATE_CONFIG: file, TOLLGATE_PORT: '0', TOLLGATE_REQUIRE_PRICING: 'true' } })
      try {
        expect(new URL(gw.url).port).not.toBe(String(blocker.port))
        expect((await fetch(`${gw.url}/health`)).status).toBe(200)
        expect((await fetch(`${gw.url}/v1/users`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).status).toBe(200)
        const withFileKey = await fetch(`${gw.url}/v1/users`, { headers: { authorization: `Bearer ${fileKey}` } })
        expect(withFileKey.status).toBe(401)
      } finally {
        await gw.stop()
      }
      expect(gw.output()).not.toContain(fileKey)
    } finally {
      blocker.stop(true)
    }
  })

})

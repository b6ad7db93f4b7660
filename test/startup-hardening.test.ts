/**
 * Issue 12 items 7 and 14, at startup: a port in use stops startup (no silent sharing), a weak or
 * whitespace-padded master key is refused (as is one longer than the console's sign-in takes), and the data
 * directory and database files are private.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { type ConfigError, loadConfig } from '../src/config/load'
import { masterKeyWeakness } from '../src/keys/secret'
import { MASTER_KEY, runGatewayExpectingExit, spawnGateway } from './support/gateway'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('a port already in use', () => {
  test('by another tollgate: the second one exits 1 saying the port is in use, the first keeps serving', async () => {
    const first = await spawnGateway()
    try {
      const port = new URL(first.url).port
      const second = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: 'another-master-key-0123456789-abcdef', TOLLGATE_HOST: '127.0.0.1', TOLLGATE_PORT: port }, 30_000)
      expect(second.code).toBe(1)
      expect(second.output).toContain(`port ${port} on 127.0.0.1 is already in use`)
      expect(second.output).not.toContain('listening on')
      expect((await fetch(`${first.url}/health`)).status).toBe(200)
    } finally {
      await first.stop()
    }
  }, 60_000)

  test('by another program: the same refusal', async () => {
    const blocker = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const exit = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: 'another-master-key-0123456789-abcdef', TOLLGATE_HOST: '127.0.0.1', TOLLGATE_PORT: String(blocker.port) }, 30_000)
      expect(exit.code).toBe(1)
      expect(exit.output).toContain(`port ${blocker.port} on 127.0.0.1 is already in use`)
    } finally {
      blocker.stop(true)
    }
  }, 40_000)
})

/** A random key of `length` characters (base64, no whitespace), as a generator makes one. */
const randomKey = (length: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(length))).toString('base64').slice(0, length)

describe('a weak or padded master key', () => {
  const REFUSED: Array<[string, string, string]> = [
    ['a random key longer than the console\'s sign-in takes (513 characters)', randomKey(513), 'must be at most 512 characters'],
    ['a leading space', ` ${MASTER_KEY}`, 'must not start or end with whitespace'],
    ['a trailing newline', `${MASTER_KEY}\n`, 'must not start or end with whitespace'],
    ['a space inside', MASTER_KEY.replace('-', ' '), 'must not contain whitespace'],
    ['one repeated character', 'a'.repeat(48), 'fewer than 8 distinct characters'],
    ['two alternating characters', 'xy'.repeat(24), 'fewer than 8 distinct characters'],
    ['a word repeated', 'Password1!'.repeat(4), 'a shorter sequence repeated'],
    ['a random-looking block repeated', 'q8Zr5LmT2wXp'.repeat(3), 'a shorter sequence repeated'],
    ['the alphabet', 'abcdefghijklmnopqrstuvwxyz0123456789', 'mostly runs'],
  ]

  for (const [name, key, reason] of REFUSED)
    test(`${name}: refused, naming master_key and why, never printing the key`, () => {
      let message = ''
      try {
        loadConfig({ TOLLGATE_MASTER_KEY: key })
      } catch (error) {
        message = (error as ConfigError).message
      }
      expect(message).toContain('master_key (TOLLGATE_MASTER_KEY)')
      expect(message).toContain(reason)
      expect(message).not.toContain(key.trim())
    })

  test('a padded key stops a real start with exit 1', async () => {
    const exit = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: `${MASTER_KEY} ` }, 30_000)
    expect(exit.code).toBe(1)
    expect(exit.output).toContain('must not start or end with whitespace')
    expect(exit.output).not.toContain(MASTER_KEY)
    expect(exit.output).not.toContain('listening on')
  }, 40_000)

  test('keys from a random generator pass (base64 and hex), as does the test suite\'s own', () => {
    for (const key of [
      'kP3v8QzN1xR7mW2bT9yH4cL6dF0gJ5sA8eU1iO3p',
      '9f86d081884c7d659a2feaa0c55ad015',
      'c3ab8ff13720e8ad9047dd39466b3c89',
      MASTER_KEY,
      randomKey(512),
    ])
      expect({ key, weakness: masterKeyWeakness(key) }).toEqual({ key, weakness: null })
  })
})

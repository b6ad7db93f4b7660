/**
 * SPEC §2: an invalid value stops startup with exit code 1 and a message that names the field. A
 * TOLLGATE_DB the gateway cannot use as its SQLite file (a file that is not a database: the config file named
 * by mistake; a directory; a path under a regular file) ended the start with an uncaught SQLiteError / EISDIR /
 * EEXIST, its stack and Bun's banner, the way an unreachable Postgres once did (postgres-unreachable-at-start).
 * It is refused like every other start: one `[tollgate] refusing to start: …` line naming TOLLGATE_DB and the
 * path, exit 1, and the file left as it was.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MASTER_KEY, runGatewayExpectingExit, tempDir } from './support/gateway'
import { freePort } from './support/free-port'

const dir = tempDir('tollgate-db-refused-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const NOTES = 'providers:\n  openai: {type: openai, base_url: https://api.openai.com/v1, api_key: x}\n'
const notADatabase = join(dir, 'tollgate.yaml')
writeFileSync(notADatabase, NOTES)
const aDirectory = join(dir, 'data')
mkdirSync(aDirectory)

for (const [what, path] of [
  ['a file that is not a SQLite database', notADatabase],
  ['a directory', aDirectory],
  ['a path under a regular file', join(notADatabase, 'tollgate.db')],
] as const)
  test(`TOLLGATE_DB naming ${what} is a one-line refusal naming the setting, exit 1`, async () => {
    const { code, output } = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: path, BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' })
    expect(code).toBe(1)
    expect(output).not.toMatch(/^\s+at |^\S*Error: |Bun v\d/m)
    const lines = output.trim().split('\n')
    expect(lines).toEqual([expect.stringMatching(/^\[tollgate\] refusing to start: TOLLGATE_DB: /)])
    expect(lines[0]).toContain(path)
    expect(readFileSync(notADatabase, 'utf8')).toBe(NOTES)
  }, 20_000)

test('a TOLLGATE_WORKERS group refuses the same way', async () => {
  const { code, output } = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: aDirectory, TOLLGATE_WORKERS: '2', TOLLGATE_PORT: String(freePort()), BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' })
  expect(code).toBe(1)
  expect(output.trim().split('\n')).toEqual([expect.stringMatching(/^\[tollgate\] refusing to start: TOLLGATE_DB: /)])
}, 20_000)

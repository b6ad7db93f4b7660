/**
 * A secret written in the configuration file in a spelling YAML reads as a number was printed whole in the startup
 * refusal (stderr: the container's log).
 *
 * SPEC §2: "Secrets are never logged". The number-spelling check (src/config/load.ts numberSpellingProblems) quoted
 * the text of every plain scalar YAML reads as a number, whichever field it is in — the master key, a provider's
 * api_key, the database or Redis password, a webhook secret, the metrics token. A password of digits with a leading
 * zero (`0091827364…`, one random digit password in ten), an exponent-looking hex key (`1e98…`) or anything starting
 * `0x` was refused with "`<field>: is written <the secret>, which YAML reads as …`". The refusal must name the field
 * and say what is wrong (quote it as a string) without the value.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runGatewayExpectingExit, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-number-secret-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const MASTER = '0731946285017394628501739462850173946'
const DB_PASSWORD = '00918273645546372819'
const PROVIDER_KEY = '1e98765432109876'
const METRICS_TOKEN = '0042424242424242424242'

test('a numeric-looking secret in the config file is refused by field name, never printed', async () => {
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(
    file,
    [
      `master_key: ${MASTER}`,
      'database_url: postgres://tollgate@127.0.0.1:5432/tollgate',
      `database_password: ${DB_PASSWORD}`,
      'metrics_enabled: true',
      `metrics_token: ${METRICS_TOKEN}`,
      'providers:',
      '  openai:',
      '    type: openai',
      '    base_url: https://api.openai.com/v1',
      `    api_key: ${PROVIDER_KEY}`,
      '',
    ].join('\n'),
  )
  const { code, output } = await runGatewayExpectingExit({ TOLLGATE_CONFIG: file })
  // It is refused, naming each field.
  expect(code).not.toBe(0)
  for (const field of ['master_key', 'database_password', 'metrics_token', 'providers.openai.api_key']) expect(output).toContain(field)
  // …without any of the secrets.
  const printed = [MASTER, DB_PASSWORD, METRICS_TOKEN, PROVIDER_KEY].filter((secret) => output.includes(secret))
  expect({ secretsPrinted: printed, output }).toEqual({ secretsPrinted: [], output: expect.any(String) })
})

/**
 * The config's key-written-twice and number-spelling checks (src/config/yaml-scan.ts) read lines split at "\n",
 * but Bun.YAML.parse (YAML 1.2) also takes a lone "\r" as a line break. A tollgate.yaml saved
 * with CR line breaks (classic Mac line endings, some editors and `printf` templates) is parsed line by line by
 * Bun, yet the scan saw one line: a model priced at $2.50/$10 and, further down, at $0.25/$1 started the gateway
 * at the tenth, and `rate_limit_per_min: 0x3C` was read as 60 unnoticed. The file's line breaks are now read as
 * YAML reads them, so the same file with "\r" is refused as with "\n".
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './support/gateway'
import { startAttempt } from './support/start-attempt'

const dir = tempDir('tollgate-config-cr-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const LINES = [
  'providers:',
  '  oai:',
  '    type: openai',
  '    base_url: https://api.openai.com/v1',
  'pricing:',
  '  oai:gpt-4o:',
  '    input_per_million: 2.5',
  '    output_per_million: 10',
  '  oai:gpt-4o:',
  '    input_per_million: 0.25',
  '    output_per_million: 1',
  '',
]

async function start(name: string, text: string) {
  const file = join(dir, name)
  writeFileSync(file, text)
  return startAttempt(dir, { TOLLGATE_CONFIG: file, TOLLGATE_DB: ':memory:' })
}

test('with LF line breaks the key written twice is refused (control)', async () => {
  const lf = await start('lf.yaml', LINES.join('\n'))
  expect(lf.listened).toBe(false)
  expect(lf.output).toMatch(/pricing\.oai:gpt-4o: is written twice/)
})

test('the same file with CR line breaks is refused too, never started at the cheaper (last) price', async () => {
  // Bun.YAML reads this file as the LF one (both keys, the last one kept).
  expect(Bun.YAML.parse(LINES.join('\r'))).toEqual(Bun.YAML.parse(LINES.join('\n')))
  const cr = await start('cr.yaml', LINES.join('\r'))
  expect(cr.output).toMatch(/pricing\.oai:gpt-4o: is written twice|line break|not follow/)
  expect(cr.listened).toBe(false)
  expect(cr.code).not.toBe(0)
})

test('a number misspelt in a CR file is refused as in an LF file', async () => {
  const text = ['log_level: info', 'rate_limit_per_min: 0x3C', ''].join('\r')
  const cr = await start('cr-number.yaml', text)
  expect(cr.listened).toBe(false)
  expect(cr.output).toMatch(/rate_limit_per_min: is written 0x3C|line break|not follow/)
})

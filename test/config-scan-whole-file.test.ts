/**
 * The config file's checks (keys written twice, numbers spelt other than in decimal digits: yaml-scan.ts, load.ts)
 * read the whole file, past a root tag on the document marker (`--- !!map`) and explicit keys (`? key`, which
 * PyYAML's dump writes for any key over 128 characters, and a price's model name may have 256). Before, the scan
 * stopped at either, and what followed was read by Bun.YAML unchecked: `0x10` as 16, `1e3` as 1000, a price
 * written twice served at the second. A construct the scan still does not follow refuses the file, naming its line.
 */
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startAttempt, workdirsPerTest } from './support/start-attempt'

const workdir = workdirsPerTest('tollgate-config-scan-whole-')

async function start(text: string) {
  const dir = workdir()
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(file, text)
  return startAttempt(dir, { TOLLGATE_CONFIG: file, TOLLGATE_DB: ':memory:' })
}

const providers = 'providers:\n  mock:\n    type: openai\n    base_url: http://127.0.0.1:9/v1\n'
const longModel = `mock:${'m'.repeat(140)}`

describe('a hex rate limit after a root tag or an explicit key is refused', () => {
  test('control: without the construct, the start is refused', async () => {
    const r = await start('rate_limit_per_min: 0x10\n')
    expect(r.listened).toBe(false)
    expect(r.output).toContain('rate_limit_per_min: is written 0x10')
  })

  test('after a root tag on the document marker (--- !!map)', async () => {
    const r = await start('--- !!map\nrate_limit_per_min: 0x10\n')
    expect(r.listened).toBe(false)
    expect(r.output).toContain('rate_limit_per_min: is written 0x10')
  })

  test("after an explicit key (PyYAML's dump of a model name over 128 characters)", async () => {
    const r = await start(
      `${providers}pricing:\n  ? ${longModel}\n  : input_per_million: 1\n    output_per_million: 1\nrate_limit_per_min: 1e3\n`,
    )
    expect(r.listened).toBe(false)
    expect(r.output).toContain('rate_limit_per_min: is written 1e3')
  })
})

describe('a price written twice after an explicit key is refused', () => {
  test('the second, lower, price would be served silently', async () => {
    const r = await start(
      `${providers}pricing:\n  ? ${longModel}\n  : input_per_million: 1\n    output_per_million: 1\n` +
        '  mock:gpt-x:\n    input_per_million: 2.5\n    output_per_million: 10\n' +
        '  mock:gpt-x:\n    input_per_million: 0.25\n    output_per_million: 1\n',
    )
    expect(r.listened).toBe(false)
    expect(r.output).toContain('is written twice')
  })
})

describe('a construct the checks do not read refuses the file, naming its line', () => {
  test('an explicit key in a flow mapping', async () => {
    const r = await start('rate_limit_per_min: 60\npricing: {? mock:gpt-x: {input_per_million: 1, output_per_million: 1}}\n')
    expect(r.listened).toBe(false)
    expect(r.output).toMatch(/tollgate\.yaml line 2: tollgate's checks of the file .* do not read what is written there/)
  })
})

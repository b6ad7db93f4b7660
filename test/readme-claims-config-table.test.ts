/**
 * README "Configuration": the table names every TOLLGATE_* setting the environment may set (src/config/load.ts
 * ENV_SETTINGS), each default it states is the schema's (src/config/schema.ts), and so are the limits it states
 * (TOLLGATE_WORKERS at most 256, TOLLGATE_REDIS_URL's valkey:// spellings).
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENV_SETTINGS } from '../src/config/load'
import { configSchema } from '../src/config/schema'

const README = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')
const rows = README.split('\n').filter((line) => /^\| [^|]+ \| `TOLLGATE_[A-Z_]+`/.test(line))

test('every environment setting has a row in the configuration table, and every row is a setting', () => {
  const named = new Set(rows.flatMap((row) => [...row.split('|')[2]!.matchAll(/`TOLLGATE_([A-Z_]+)`/g)].map((m) => m[1]!.toLowerCase())))
  expect([...ENV_SETTINGS].filter((s) => !named.has(s))).toEqual([])
  expect([...named].filter((s) => !(ENV_SETTINGS as readonly string[]).includes(s))).toEqual([])
})

test("each default the table states is the schema's", () => {
  const defaults = configSchema.parse({ master_key: 'x'.repeat(8) + 'Qw3rTy9!zX7#mN2$pL5^vB8&kJ4*hG6(' }) as Record<string, unknown>
  const differ: string[] = []
  for (const row of rows) {
    const cells = row.split('|').map((c) => c.trim())
    const names = [...cells[2]!.matchAll(/`TOLLGATE_([A-Z_]+)`/g)].map((m) => m[1]!.toLowerCase())
    const stated = cells[3]!.split(' / ').map((d) => d.replaceAll('`', '').trim())
    names.forEach((name, i) => {
      const said = stated[names.length === stated.length ? i : 0]!
      if (name === 'master_key') return // required: no default
      const actual = defaults[name]
      if (actual === undefined || /^[—-]$|^unset|^off$|^empty/.test(said)) {
        if (actual !== undefined && !(Array.isArray(actual) && actual.length === 0)) differ.push(`${name}: table "${said}", schema ${JSON.stringify(actual)}`)
        return
      }
      if (String(actual) !== said) differ.push(`${name}: table "${said}", schema ${JSON.stringify(actual)}`)
    })
  }
  expect(differ).toEqual([])
})

test('the limits the table states hold: at most 256 workers, and a valkey:// Redis URL is taken as a redis:// one', () => {
  const row = (name: string) => rows.find((r) => r.includes(`\`TOLLGATE_${name}\``))!
  expect(row('WORKERS')).toContain('at most 256')
  expect(row('REDIS_URL')).toContain('`valkey://`')
  const parsed = (settings: Record<string, unknown>) => configSchema.safeParse({ master_key: 'x'.repeat(8) + 'Qw3rTy9!zX7#mN2$pL5^vB8&kJ4*hG6(', ...settings }).success
  expect({ 256: parsed({ workers: 256, port: 8080 }), 257: parsed({ workers: 257, port: 8080 }) }).toEqual({ 256: true, 257: false })
  expect(['redis://h:6379', 'rediss://h:6379', 'valkey://h:6379', 'valkeys://h:6379/2', 'http://h:6379'].map((url) => parsed({ redis_url: url })))
    .toEqual([true, true, true, true, false])
})

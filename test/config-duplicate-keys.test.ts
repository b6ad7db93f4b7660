/**
 * SPEC §2: "an invalid value stops startup … with a message that names the field"; the schema refuses two pricing
 * keys for one model (`p:m` beside `p/m`) because whichever came last would price it, silently, and the CLI refuses
 * an option given twice. The same key written twice in tollgate.yaml (a YAML 1.2 error: mapping keys are unique) was
 * settled silently by Bun.YAML.parse, the last one winning: a model priced at $2.50/$10 and, further down, at
 * $0.25/$1 was served at a tenth of its price; `rate_limit_per_min: 60` written again as 6000000 took the second.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { duplicateKeys } from '../src/config/yaml-scan'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-duplicate-keys-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function outcome(text: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, text)
  try {
    const config = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', TOLLGATE_CONFIG: file })
    return `accepted: ${JSON.stringify({ pricing: config.pricing, rate_limit_per_min: config.rate_limit_per_min })}`
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return `refused: ${error.message}`
  }
}

const PROVIDERS = 'providers:\n  oai:\n    type: openai\n    base_url: https://api.openai.com/v1\n'

describe('the gateway refuses a key written twice in its file, naming it and both lines', () => {
  test('a pricing key written twice, never settled by taking the last (cheaper) row', () => {
    const text = `${PROVIDERS}pricing:\n  oai:gpt-4o:\n    input_per_million: 2.5\n    output_per_million: 10\n  oai:gpt-4o:\n    input_per_million: 0.25\n    output_per_million: 1\n`
    expect(outcome(text)).toMatch(/^refused: [\s\S]*pricing\.oai:gpt-4o: is written twice in \S+ \(lines 6 and 9\)/)
  })

  test('a top-level setting written twice', () => {
    expect(outcome(`rate_limit_per_min: 60\n${PROVIDERS}rate_limit_per_min: 6000000\n`)).toMatch(/^refused: [\s\S]*rate_limit_per_min: is written twice in \S+ \(lines 1 and 6\)/)
  })

  test('one key spelt plain and quoted, or twice in a flow mapping', () => {
    expect(outcome(`${PROVIDERS}rate_limit_per_min: 60\n"rate_limit_per_min": 6000000\n`)).toMatch(/^refused: [\s\S]*rate_limit_per_min: is written twice/)
    expect(outcome(`${PROVIDERS}pricing:\n  oai:gpt-4o: { input_per_million: 2.5, output_per_million: 10, input_per_million: 0.25 }\n`)).toMatch(
      /^refused: [\s\S]*pricing\.oai:gpt-4o\.input_per_million: is written twice/,
    )
  })

  test('a file with each key once is taken as before', () => {
    const text = `# rate_limit_per_min: 10 (the old limit)\nrate_limit_per_min: 60\n${PROVIDERS}pricing:\n  oai:gpt-4o: { input_per_million: 2.5, output_per_million: 10 }\n  oai:gpt-4o-mini:\n    input_per_million: 0.15\n    output_per_million: 0.6\n`
    expect(outcome(text)).toStartWith('accepted: ')
  })
})

describe('duplicateKeys', () => {
  const found = (text: string) => {
    Bun.YAML.parse(text) // the scan reads what Bun.YAML takes
    return duplicateKeys(text).map(({ path, lines }) => `${path.join('.')} ${lines.join(',')}`)
  }

  test('at any depth, in block and flow mappings, and in mappings that are sequence items', () => {
    expect(found('a:\n  b:\n    c: 1\n    c: 2\n')).toEqual(['a.b.c 3,4'])
    expect(found('a: {b: 1,\n  c: [ {d: 1, d: 2} ], b: 3}\n')).toEqual(['a.c.0.d 2,2', 'a.b 1,2'])
    expect(found('a:\n- x: 1\n  x: 2\n- x: 3\n')).toEqual(['a.0.x 2,3'])
    expect(found("'a': 1\n\"a\": 2\na: 3\n")).toEqual(['a 1,2', 'a 1,3'])
    expect(found('a: &anchor\n  b: 1\n  b: 2\n')).toEqual(['a.b 2,3'])
  })

  test('text that only looks like a key is none: comments, quoted and block scalars, plain continuations', () => {
    expect(found('a: 1 # a: 2\n# a: 3\n')).toEqual([])
    expect(found('a: "x\n  a: y"\n')).toEqual([])
    expect(found("a: 'it''s: here\n  a: again'\n")).toEqual([])
    expect(found('a: |\n  a: 1\n  a: 2\nb: >-\n  b: 1\n\n  b: 2\n')).toEqual([])
    expect(found('a: one\n  {a, a}\n')).toEqual([])
    expect(found('url: http://host:8080/a\nnote: "url: b"\n')).toEqual([])
  })

  test('explicit keys (`? key` then `: value`) are keys, their values read as a key\'s', () => {
    expect(found('? a\n: 1\n? "a"\n: 2\n')).toEqual(['a 1,3'])
    expect(found('? a # a comment\n:\n  b: 1\n  b: 2\n')).toEqual(['a.b 3,4'])
    expect(found('m:\n  ? k\n  : x: 1\n    x: 2\n  k: 3\n')).toEqual(['m.k.x 3,4', 'm.k 2,5'])
    expect(found('- ? a\n  : 1\n  a: 2\n')).toEqual(['0.a 1,3'])
  })

  test('one key in different mappings, and a key a merge brought in, are not written twice', () => {
    expect(found('x:\n  a: 1\ny:\n  a: 2\nz: [{a: 1}, {a: 2}]\n')).toEqual([])
    expect(found('base: &base {a: 1}\nm:\n  <<: *base\n  a: 2\n')).toEqual([])
  })
})

/**
 * Generated documents in every shape the scan reads (block and flow collections, keys plain and quoted, scalars
 * plain, quoted, multi-line and block, whose text looks like keys, comments, anchors, tags), some mappings given a
 * key again at their end: exactly those are found, at their path.
 */
describe('duplicateKeys over generated documents', () => {
  type Node = { map: [string, Node][] } | { seq: Node[] } | { text: string }
  let seed = 20260301
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  const pick = <T>(values: T[]) => values[Math.floor(random() * values.length)]!
  const KEYS = ['a', 'b', 'oai:gpt-4o', 'p/m', 'x y', 'k-1']
  const TEXTS = ['v', 'a: b', 'x # y', 'k: v\nk: w', 'http://h:1/p', "it's", 'say "hi"', '{a: 1, a: 2}', '- a: 1\n- a: 1']

  let expected: string[] = []
  const node = (depth: number): Node => {
    const r = random()
    if (depth > 3 || r < 0.35) return { text: pick(TEXTS) }
    if (r < 0.75) return { map: [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(KEYS)))].map((k) => [k, node(depth + 1)]) }
    return { seq: Array.from({ length: 1 + Math.floor(random() * 3) }, () => node(depth + 1)) }
  }
  const key = (k: string) => pick([JSON.stringify(k), `'${k}'`, /[ #]/.test(k) ? JSON.stringify(k) : k])
  const quoted = (text: string) => (random() < 0.5 ? JSON.stringify(text) : `'${text.replaceAll("'", "''").replaceAll('\n', '\n\n')}'`)
  const again = (path: string[], k: string) => (random() < 0.1 ? (expected.push([...path, k].join('.')), true) : false)

  const flow = (n: Node, path: string[]): string => {
    if ('text' in n) return quoted(n.text)
    const join = random() < 0.3 ? ',\n    ' : ', '
    if ('seq' in n) return `[${n.seq.map((v, i) => flow(v, [...path, String(i)])).join(join)}]`
    const entries = n.map.map(([k, v]) => `${key(k)}: ${flow(v, [...path, k])}`)
    if (again(path, n.map[0]![0])) entries.push(`${key(n.map[0]![0])}: 0`)
    return `{${entries.join(join)}}`
  }
  const block = (n: Node, indent: number, path: string[]): string[] => {
    const pad = ' '.repeat(indent)
    if ('text' in n) return [pad + flow(n, path)]
    if ('seq' in n) return n.seq.flatMap((v, i) => entry(`${pad}-`, v, indent, true, [...path, String(i)]))
    const lines = n.map.flatMap(([k, v]) => [...(random() < 0.2 ? [`${pad}# ${k}: a comment`] : []), ...entry(`${pad}${key(k)}:`, v, indent, false, [...path, k])])
    if (again(path, n.map[0]![0])) lines.push(`${pad}${key(n.map[0]![0])}: 0`)
    return lines
  }
  const entry = (head: string, v: Node, indent: number, item: boolean, path: string[]): string[] => {
    const r = random()
    const inline = (text: string) => text.replaceAll('\n', `\n${' '.repeat(indent + 2)}`)
    if ('text' in v) {
      if (r < 0.3) return [`${head} |`, ...v.text.split('\n').map((line) => ' '.repeat(indent + 2) + line)]
      if (r < 0.4) return [`${head} ${pick(['&anchor', '!!str'])}`, ' '.repeat(indent + 2) + JSON.stringify(v.text)]
      return [`${head} ${inline(flow(v, path))}${random() < 0.2 ? ' # k: v' : ''}`]
    }
    if (r < 0.25) return [`${head} ${inline(flow(v, path))}`]
    if (item && 'map' in v && r < 0.6) {
      const [first, ...rest] = block(v, indent + 2, path)
      return [`${head} ${first!.trimStart()}`, ...rest]
    }
    if (!item && 'seq' in v && r < 0.5) return [head, ...block(v, indent, path)]
    return [head, ...block(v, indent + 2, path)]
  }

  test('exactly the keys written again are found, wherever they are', () => {
    let withDuplicates = 0
    for (let i = 0; i < 600; i++) {
      expected = []
      const text = `${block({ map: [['root', node(0)], ['other', node(0)]] }, 0, []).join('\n')}\n`
      Bun.YAML.parse(text)
      if (expected.length) withDuplicates++
      const found = duplicateKeys(text).map((d) => d.path.join('.'))
      expect({ text, found: found.sort() }).toEqual({ text, found: expected.sort() })
    }
    expect(withDuplicates).toBeGreaterThan(100)
  })
})

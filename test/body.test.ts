import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { MAX_REQUEST_MICROS } from '../src/budget/money'
import { EmbeddedJson, jsonDepthExceeds, jsonOutOfBounds, MAX_JSON_DEPTH, MAX_JSON_MEMBERS, MAX_JSON_VALUES } from '../src/http/json-body'
import { costOf, type Price } from '../src/pricing/price'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { seededRandom } from './support/seeded'

let mock: MockProvider
let gw: TestGateway
let secret: string

const post = (body: string) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  secret = (await gw.userWithKey({ id: 'bodies' })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('JSON nesting', () => {
  test('depth is counted outside strings only', () => {
    expect(jsonDepthExceeds('[[[]]]', 3)).toBe(false)
    expect(jsonDepthExceeds('[[[[]]]]', 3)).toBe(true)
    expect(jsonDepthExceeds('{"a":"[[[[[[\\"{{{{"}', 1)).toBe(false)
  })

  test('a body nested deeper than the bound is a 400 at once; one at the bound is served', async () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n)
    const calls = mock.calls.length
    const started = performance.now()
    const deep = await post(`{"model":"mock:gpt-mock","messages":[{"role":"user","content":"x"}],"x":${nest(100_000)}}`)
    expect(deep.status).toBe(400)
    expect(((await deep.json()) as any).error.message).toContain(`nested more than ${MAX_JSON_DEPTH} levels`)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(mock.calls.length).toBe(calls)

    // The body's own object and the field's array use two levels.
    const ok = await post(`{"model":"mock:gpt-mock","messages":[{"role":"user","content":"x"}],"x":${nest(MAX_JSON_DEPTH - 1)}}`)
    expect(ok.status).toBe(200)
  })
})

describe('JSON breadth', () => {
  test('values are counted as brackets and commas outside strings, in the same pass as the depth', () => {
    expect(jsonOutOfBounds('[1,2,3]', 8, 3)).toBeNull()
    expect(jsonOutOfBounds('[1,2,3,4]', 8, 3)).toBe('values')
    expect(jsonOutOfBounds('[{},{}]', 8, 3)).toBe('values')
    expect(jsonOutOfBounds('{"a":",,,,[{,,\\",,"}', 8, 1)).toBeNull()
    expect(jsonOutOfBounds('[[[[]]]]', 3, 100)).toBe('depth')
  })

  test('object members are counted as colons outside strings, against a bound of their own', () => {
    expect(jsonOutOfBounds('{"a":1,"b":{"c":2}}', 8, 100, 3)).toBeNull()
    expect(jsonOutOfBounds('{"a":1,"b":{"c":2,"d":3}}', 8, 100, 3)).toBe('members')
    expect(jsonOutOfBounds('{"a":"::::"}', 8, 100, 1)).toBeNull()
  })

  test('a string ends at the first quote after an even run of backslashes, whatever it holds', () => {
    // `"x\\"` ends after its two backslashes (one escaped backslash), `"x\\\"…` goes on past an escaped quote.
    expect(jsonOutOfBounds(String.raw`{"a":"x\\","b":[1,2]}`, 8, 100, 1)).toBe('members')
    expect(jsonOutOfBounds(String.raw`{"a":"x\\\",[[[,"}`, 1, 1, 1)).toBeNull()
    expect(jsonOutOfBounds(String.raw`["\\\\",[[]]]`, 2, 100)).toBe('depth')
    expect(jsonOutOfBounds('["unterminated [[[,,,', 1, 1)).toBeNull()
  })

  test('counted without parsing, a random text holds the values, members and depth its parse holds (seeded)', () => {
    const random = seededRandom(20261206)
    const pieces = ['"', '\\', '[', ']', '{', '}', ',', ':', 'a', ' ', '\n', '\u0022', 'é']
    const text = () => Array.from({ length: Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]).join('')
    const value = (depth: number): unknown => {
      const r = random()
      if (depth > 5 || r < 0.4) return r < 0.2 ? text() : r < 0.3 ? Math.floor(random() * 100) : null
      const n = Math.floor(random() * 4)
      return r < 0.7 ? Array.from({ length: n }, () => value(depth + 1)) : Object.fromEntries(Array.from({ length: n }, (_, i) => [text() + i, value(depth + 1)]))
    }
    // Each container counts one value, each comma one more; each member a colon; depth is the deepest container.
    const held = (v: unknown): { values: number; members: number; depth: number } => {
      if (v === null || typeof v !== 'object') return { values: 0, members: 0, depth: 0 }
      const items = Array.isArray(v) ? v : Object.values(v)
      const inner = items.map(held)
      return {
        values: 1 + Math.max(items.length - 1, 0) + inner.reduce((n, h) => n + h.values, 0),
        members: (Array.isArray(v) ? 0 : items.length) + inner.reduce((n, h) => n + h.members, 0),
        depth: 1 + Math.max(0, ...inner.map((h) => h.depth)),
      }
    }
    for (let i = 0; i < 2_000; i++) {
      const v = [value(0)]
      const json = JSON.stringify(v)
      const { values, members, depth } = held(v)
      expect([i, jsonOutOfBounds(json, depth, values, members)]).toEqual([i, null])
      expect([i, jsonOutOfBounds(json, depth - 1, values, members)]).toEqual([i, 'depth'])
      expect([i, jsonOutOfBounds(json, depth, values - 1, members)]).toEqual([i, 'values'])
      if (members > 0) expect([i, jsonOutOfBounds(json, depth, values, members - 1)]).toEqual([i, 'members'])
    }
  })

  test("the JSON texts in a body's strings share one bound: each under it, together past it, the last is refused", () => {
    const embedded = new EmbeddedJson()
    const half = `[${'0,'.repeat(MAX_JSON_VALUES / 2 - 1)}0]`
    embedded.checkBounds(half, 'first')
    embedded.checkBounds(half, 'second')
    expect(() => embedded.checkBounds('[0]', 'third')).toThrow('third: holds more than')
    const keys = `{${Array.from({ length: MAX_JSON_MEMBERS }, (_, i) => `"k${i}":0`).join(',')}}`
    expect(() => new EmbeddedJson().checkBounds(keys, 'members')).not.toThrow()
    expect(() => new EmbeddedJson().checkBounds(`[${keys},{"k":0}]`, 'members')).toThrow(`more than ${MAX_JSON_MEMBERS} JSON object members`)
  })

  test('a body of more values than the bound is a 400 before it is parsed; one a little under it is served', async () => {
    const many = (n: number) => `{"model":"mock:gpt-mock","messages":[{"role":"user","content":"x"}],"metadata":{"x":[${'0,'.repeat(n - 1)}0]}}`
    const calls = mock.calls.length
    const broad = await post(many(MAX_JSON_VALUES + 1))
    expect(broad.status).toBe(400)
    const refusal = ((await broad.json()) as any).error
    expect(refusal.code).toBe('invalid_json')
    expect(refusal.message).toContain(`more than ${MAX_JSON_VALUES} JSON values`)
    expect(mock.calls.length).toBe(calls)

    // The body's objects, the messages array and its commas take a few of the bound.
    const ok = await post(many(MAX_JSON_VALUES - 16))
    expect(ok.status).toBe(200)
  })
})

describe('absurd amounts', () => {
  test('a max_tokens whose worst case passes $1,000,000 is refused before any hold', async () => {
    const res = await post(JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'x' }], max_tokens: 1e15 }))
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.code).toBe('estimate_too_large')
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
    expect(gw.query("SELECT reserved, typeof(reserved) AS t FROM users WHERE id = 'bodies'")[0]).toEqual({ reserved: 0, t: 'integer' })
  })

  test('a cost is clamped at the per-request bound, so every amount stays an exact integer', () => {
    const dear: Price = { id: 1, model: 'p:m', inputPerMillion: 1e12, outputPerMillion: 1e12, cachedInputPerMillion: null, perRequest: null, createdAt: 0 }
    expect(costOf(dear, { promptTokens: 1e9, completionTokens: 1e9, cachedTokens: 0 })).toBe(MAX_REQUEST_MICROS)
    expect(Number.isSafeInteger(MAX_REQUEST_MICROS * 9000)).toBe(true)
  })

  test('the double arithmetic of costOf agrees with BigInt, rounding up, on both sides of 2^53', () => {
    const exact = (p: Price, t: { promptTokens: number; completionTokens: number; cachedTokens: number }) => {
      const cached = BigInt(Math.min(t.cachedTokens, t.promptTokens))
      const scaled = (BigInt(t.promptTokens) - cached) * BigInt(p.inputPerMillion) + cached * BigInt(p.cachedInputPerMillion ?? p.inputPerMillion) +
        BigInt(t.completionTokens) * BigInt(p.outputPerMillion)
      const cost = (scaled + 999_999n) / 1_000_000n + BigInt(p.perRequest ?? 0)
      return cost > BigInt(MAX_REQUEST_MICROS) ? MAX_REQUEST_MICROS : Number(cost)
    }
    const next = seededRandom(7)
    const rand = (max: number) => next() * max
    for (let i = 0; i < 5000; i++) {
      const scale = 10 ** Math.floor(rand(10))
      const p: Price = {
        id: 1, model: 'p:m', inputPerMillion: Math.floor(rand(scale)), outputPerMillion: Math.floor(rand(scale)),
        cachedInputPerMillion: rand(1) < 0.5 ? null : Math.floor(rand(scale)), perRequest: rand(1) < 0.8 ? null : Math.floor(rand(1000)), createdAt: 0,
      }
      const prompt = Math.floor(rand(10 ** Math.floor(rand(10))))
      const t = { promptTokens: prompt, completionTokens: Math.floor(rand(10 ** Math.floor(rand(10)))), cachedTokens: Math.floor(rand(prompt + 1)) }
      expect(costOf(p, t)).toBe(exact(p, t))
    }
    // Just past 2^53 in total, with every term exact only in BigInt.
    const edge: Price = { id: 1, model: 'p:m', inputPerMillion: 2 ** 26 + 1, outputPerMillion: 0, cachedInputPerMillion: null, perRequest: null, createdAt: 0 }
    const t = { promptTokens: 2 ** 27 + 3, completionTokens: 0, cachedTokens: 0 }
    expect(costOf(edge, t)).toBe(exact(edge, t))
    expect(costOf(edge, { promptTokens: 1, completionTokens: 0, cachedTokens: 0 })).toBe(68)
  })
})

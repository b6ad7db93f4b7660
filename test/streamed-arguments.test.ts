import { expect, test } from 'bun:test'
import { StreamedArguments } from '../src/translate/streamed-arguments'
import { opensObject } from '../src/translate/tool-arguments'

/** The rule read off the whole text, as the translator once did after every delta: the oracle. */
function wholeObjectOracle(text: string): boolean {
  if (!/\}[ \t\n\r]*$/.test(text)) return false
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** A whole JSON value, whitespace aside; a number or literal standing alone only up to 32 characters. */
function wholeValueOracle(text: string): boolean {
  const trimmed = text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '')
  if (trimmed === '' || (!/^[{["]/.test(trimmed) && trimmed.length > 32)) return false
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** A deterministic pseudo-random source (mulberry32), so that a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const VALID = [
  '{}', ' {"a":1} ', '{"a":{"b":[1,{"c":"}"}]}}', '{"s":"a\\"}b"}', '{"s":"\\\\"}', '{"k":"{[\\u007d"}\n', '\t{"x":[[],{}]}',
  '{"a":"é✓"}', '{"n":null,"t":true,"f":false,"e":-1.5e3}',
  // Values other than objects, which the whole-value answer takes (Ollama's no-argument call says `null`).
  'null', ' true ', '-1.5e3', '0', '"a\\"}"', '[1,{"a":[]}]', '12345678901234567890123456789012', '123456789012345678901234567890123',
]
const ALPHABET = ['{', '}', '[', ']', '"', '\\', ':', ',', ' ', 'a', '1', '\n', 'null', 'tru', 'e', '-', '.', '11111111']

function chunked(text: string, next: () => number): string[] {
  const parts: string[] = []
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(next() * 4)
    parts.push(text.slice(i, i + n))
    i += n
  }
  return parts
}

function expectOracleAfterEachDelta(deltas: string[], askEvery: number) {
  const objects = new StreamedArguments()
  const values = new StreamedArguments()
  let text = ''
  deltas.forEach((delta, i) => {
    objects.append(delta)
    values.append(delta)
    text += delta
    if (i % askEvery === 0 || i === deltas.length - 1) {
      expect({ text, whole: objects.isWholeObject() }).toEqual({ text, whole: wholeObjectOracle(text) })
      expect({ text, value: values.isWholeValue() }).toEqual({ text, value: wholeValueOracle(text) })
    }
  })
}

test('whole-object and whole-value answers match a parse of the whole text after every delta: valid values, their prefixes and what follows them', () => {
  const next = random(1)
  for (const object of VALID)
    for (const tail of ['', ' ', '\n ', '}', ',', 'x', ' {}', ']'])
      for (let round = 0; round < 20; round++) expectOracleAfterEachDelta(chunked(object + tail, next), 1)
})

test('whole-object and whole-value answers match a parse of the whole text for random fragments, asked after every delta or only now and then', () => {
  const next = random(2)
  for (let round = 0; round < 3000; round++) {
    const text = Array.from({ length: 1 + Math.floor(next() * 14) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join('')
    // Most random texts never close: start some from an open object so that closes happen often.
    const start = next() < 0.5 ? '{"a":' : ''
    expectOracleAfterEachDelta(chunked(start + text, next), 1 + Math.floor(next() * 3))
  }
})

test('whether argument text opens an object is decided by its first character past JSON whitespace', () => {
  expect([opensObject(''), opensObject(' \n\t\r'), opensObject(' {'), opensObject('{"a"'), opensObject(' null'), opensObject('['), opensObject('\u00a0{')]).toEqual([
    undefined, undefined, true, true, false, false, false,
  ])
})

test('whole-value answers match a parse of the whole text for fragments of strings with escapes, numbers and literals', () => {
  const next = random(3)
  const pieces = ['"', '\\', '\\u', '00e9', 'Ab', 'x', '\u0001', '\\n', '\\q', '-', '0', '1', '.', 'e', 'E', '+', '12', 'true', 'fals', 'e', 'nul', 'l', '[', ']', '{', '}', ':', ',', ' ', '"k":']
  for (let round = 0; round < 4000; round++) {
    const text = Array.from({ length: 1 + Math.floor(next() * 10) }, () => pieces[Math.floor(next() * pieces.length)]).join('')
    const start = ['', '{"a":', '[', '"'][Math.floor(next() * 4)]!
    expectOracleAfterEachDelta(chunked(start + text, next), 1 + Math.floor(next() * 3))
  }
})

test('values nested deep are read to their close, a bit kept a level', () => {
  const depth = 100_000
  const text = '{"a":['.repeat(depth) + '1' + ']}'.repeat(depth)
  const args = new StreamedArguments()
  args.append(text.slice(0, -1))
  expect(args.isWholeObject()).toBe(false)
  args.append('}')
  expect(args.isWholeObject()).toBe(true)
  args.append(']')
  expect(args.isWholeValue()).toBe(false)
})

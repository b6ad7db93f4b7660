import { expect, test } from 'bun:test'
import { jsonPieces, PIECE_UNITS } from '../src/translate/json-pieces'

test("a value's JSON written a piece at a time is its JSON, its long strings escaped a slice at a time, no pair cut", () => {
  const long = 'a'.repeat(PIECE_UNITS - 1) + '😀' + '"\\\n\u0001é'.repeat(20_000)
  const image = 'QUJD'.repeat(100_000)
  const value = { type: 'response.completed', text: long, output: [{ content: [{ text: long, note: 'short "quoted"' }], image }, null, 3], [long.slice(0, 10)]: true }
  const pieces = [...jsonPieces(value)]
  expect(pieces.join('')).toBe(JSON.stringify(value))
  expect(pieces.join('')).not.toMatch(/\\ud83d"|^\\ude00/)
  // No piece is more than a slice's worth (escaped, at most 6 bytes a unit): none is as long as the value.
  expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(6 * PIECE_UNITS)
  expect(pieces.length).toBeGreaterThan((2 * long.length + image.length) / PIECE_UNITS)
})

test('a string that holds what marks a long one is written as it is', () => {
  const value = { a: '\u0000' + '0'.repeat(36), b: 'x'.repeat(PIECE_UNITS + 1), c: '"\u0000"' }
  expect([...jsonPieces(value)].join('')).toBe(JSON.stringify(value))
})

test('a value with no long string is one piece', () => {
  expect([...jsonPieces({ a: 'b', c: [1, 2] })]).toEqual(['{"a":"b","c":[1,2]}'])
})

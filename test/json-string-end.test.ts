import { expect, test } from 'bun:test'
import { stringEnd } from '../src/http/json-string-end'
import { seededRandom } from './support/seeded'

/** Where JSON.stringify closes a string written at the start of a text: what stringEnd must find in any text after it. */
const closedAt = (value: string) => JSON.stringify(value).length - 1

test('a string ends at its closing quote past escaped quotes, sparse (searched) or dense (walked), and backslash runs (seeded)', () => {
  const random = seededRandom(61206)
  const pieces = ['"', '\\', '\\"', 'word ', 'a longer run of prose without a quote in it, ', '{"k": [1, "v"]}', '\n', 'é']
  for (let i = 0; i < 2_000; i++) {
    // Up to ~400 pieces: past 32 escaped quotes, both when they are far apart and when they are close.
    const dense = random() < 0.5
    const value = Array.from({ length: Math.floor(random() * 400) }, () => pieces[Math.floor(random() * (dense ? 3 : pieces.length))]).join('')
    const json = `${JSON.stringify(value)},"after":"x"`
    expect([i, stringEnd(json, 0)]).toEqual([i, closedAt(value)])
  }
})

test('a string with no closing quote ends at the text', () => {
  expect(stringEnd('"abc\\"', 0)).toBe(6)
  expect(stringEnd(`"${'\\"x'.repeat(100)}`, 0)).toBe(301)
})

/**
 * A model name is shown (refusals, unpriced-model alerts, error messages) cut to 200 UTF-16 units, never inside a
 * surrogate pair: `slice` kept the first half of an emoji at the cut, which is no text, and which Postgres's JSON
 * parser refused in the alert outbox's dedupe check, sinking every alert written with it
 * (engines/postgres-alert-unpriced-name-cut-surrogate.engine.ts).
 */
import { expect, test } from 'bun:test'
import { modelNameShown } from '../src/metering/admission'

test('a name cut inside an emoji keeps none of it, and stays well-formed', () => {
  const shown = modelNameShown(`mock:${'a'.repeat(194)}😀`)
  expect(shown).toBe(`mock:${'a'.repeat(194)}`)
  expect(shown.isWellFormed()).toBe(true)
})

test('an emoji that ends within the 200 units is kept whole', () => {
  const name = `mock:${'a'.repeat(193)}😀b`
  expect(modelNameShown(name)).toBe(`mock:${'a'.repeat(193)}😀`)
  expect(modelNameShown(`mock:${'a'.repeat(193)}😀`)).toBe(`mock:${'a'.repeat(193)}😀`)
})

test('a long plain name is cut at 200, a short one kept as it is', () => {
  expect(modelNameShown('m'.repeat(300))).toBe('m'.repeat(200))
  expect(modelNameShown('mock:gpt-mock')).toBe('mock:gpt-mock')
})

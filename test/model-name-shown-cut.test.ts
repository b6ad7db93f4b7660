/**
 * A model name is shown (refusals, unpriced-model alerts, error messages) cut to 256 UTF-16 units (the longest name a price may have), never inside a
 * surrogate pair: `slice` kept the first half of an emoji at the cut, which is no text, and which Postgres's JSON
 * parser refused in the alert outbox's dedupe check, sinking every alert written with it
 * (engines/postgres-alert-unpriced-name-cut-surrogate.engine.ts).
 */
import { expect, test } from 'bun:test'
import { modelNameShown } from '../src/metering/admission'

test('a name cut inside an emoji keeps none of it, and stays well-formed', () => {
  const shown = modelNameShown(`mock:${'a'.repeat(250)}😀`)
  expect(shown).toBe(`mock:${'a'.repeat(250)}`)
  expect(shown.isWellFormed()).toBe(true)
})

test('an emoji that ends within the 256 units is kept whole', () => {
  const name = `mock:${'a'.repeat(249)}😀b`
  expect(modelNameShown(name)).toBe(`mock:${'a'.repeat(249)}😀`)
  expect(modelNameShown(`mock:${'a'.repeat(249)}😀`)).toBe(`mock:${'a'.repeat(249)}😀`)
})

test('a long plain name is cut at 256, a short one kept as it is', () => {
  expect(modelNameShown('m'.repeat(300))).toBe('m'.repeat(256))
  expect(modelNameShown('mock:gpt-mock')).toBe('mock:gpt-mock')
})

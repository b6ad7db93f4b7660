/**
 * README (Console): amounts (budgets, prices) and a rate limit are typed as text and read by the CLI's rule:
 * digits with an optional fraction (`5`, `0.25`), a rate limit digits only; a decimal comma (`1,5`) or any other
 * spelling is refused with a message naming the field, and nothing is sent. Prices form: a model's name is
 * trimmed around it and either side of the `:` or `/` after its provider, invisible format characters dropped.
 */
import { expect, test } from 'bun:test'
import { typedNumber } from '../ui/src/typed-number'
import { typedModelName } from '../ui/src/typed-model-name'

const refusal = (f: () => unknown) => {
  try {
    f()
    return null
  } catch (e) {
    return (e as Error).message
  }
}

test('amounts: digits with an optional fraction; a decimal comma and other spellings are refused naming the field', () => {
  expect(typedNumber('Budget', '5')).toBe(5)
  expect(typedNumber('Budget', '0.25')).toBe(0.25)
  expect(typedNumber('Budget', '')).toBeNull()
  for (const text of ['1,5', '1e3', '0x10', '-1', '.5', '5.', 'Infinity']) expect(refusal(() => typedNumber('Budget', text))).toContain('Budget')
})

test('a rate limit is digits only', () => {
  expect(typedNumber('Rate limit', '60', 'integer')).toBe(60)
  for (const text of ['60.5', '6,0', '1e2']) expect(refusal(() => typedNumber('Rate limit', text, 'integer'))).toContain('Rate limit')
})

test('a typed model name is trimmed around it and at its provider separator, format characters dropped, inner spaces kept', () => {
  expect(typedModelName('  mock : gpt-mock\u200b ')).toBe('mock:gpt-mock')
  expect(typedModelName('mock/ gpt-mock')).toBe('mock/gpt-mock')
  expect(typedModelName('mock:modèle 2')).toBe('mock:modèle 2')
})

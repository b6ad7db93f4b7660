/**
 * README (Prices, Keys): a model's name is "trimmed of whitespace around it
 * and either side of the `:` or `/` after its provider". The existing tests trim only names with a provider
 * separator, where the trim at the cut also clears the ends: dropping the trim of the whole name went unnoticed.
 */
import { expect, test } from 'bun:test'
import { typedModelName } from '../ui/src/typed-model-name'

test('a name with no provider separator is trimmed around it too (Unicode whitespace, NEXT LINE included)', () => {
  expect(typedModelName('  gpt-mock ')).toBe('gpt-mock')
  expect(typedModelName('\u0085gpt-mock\u00a0')).toBe('gpt-mock')
})

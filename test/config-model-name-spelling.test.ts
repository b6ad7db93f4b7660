/**
 * The admin API and the console refuse a model name with whitespace around it or either side of its provider's
 * separator, or with an invisible format character (Unicode Cf) anywhere, U+0085 counted as whitespace
 * (test/admin-model-name-*.test.ts). The config file's `pricing` and `aliases` were not checked: a seed price for
 * "mock:gpt-mock " was a price row no client is billed by while mock:gpt-mock stayed unpriced, and an alias to
 * "mock:gpt\u200b-mock" sent the provider a model id it does not have. The same rule now stops startup, the message
 * naming the setting and the name, escaped so that what is wrong with it can be seen.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, runGatewayExpectingExit, tempDir } from './support/gateway'

const dir = tempDir('tollgate-config-model-names-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const PROVIDERS = { mock: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } }
const PRICE = { input_per_million: 1, output_per_million: 2 }

/** A config file with these sections, every character past ASCII written as a YAML escape (U+0085 is a line break to some YAML readers). */
function configFile(sections: Record<string, unknown>): string {
  const file = join(dir, `${crypto.randomUUID()}.yaml`)
  const text = JSON.stringify({ providers: PROVIDERS, ...sections }).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  writeFileSync(file, text)
  return file
}

/** The message loadConfig refuses with, or null if it accepted the configuration. */
function refusal(sections: Record<string, unknown>): string | null {
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: configFile(sections) })
    return null
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return e.message
  }
}

/** Each spelling the admin API refuses, with the name as the message must show it. */
const SPELLINGS: Array<[string, string, string]> = [
  ['mock:gpt-mock ', '"mock:gpt-mock "', 'must not begin or end with whitespace'],
  ['mock:gpt-mock\t', '"mock:gpt-mock\\t"', 'must not begin or end with whitespace'],
  ['mock:gpt-mock\u0085', '"mock:gpt-mock\\u0085"', 'must not begin or end with whitespace'],
  ['mock:gpt-mock\u00a0', '"mock:gpt-mock\\u00a0"', 'must not begin or end with whitespace'],
  ['mock: gpt-mock', '"mock: gpt-mock"', 'either side of the ":" or "/"'],
  ['mock:\u0085gpt-mock', '"mock:\\u0085gpt-mock"', 'either side of the ":" or "/"'],
  ['mock:gpt\u200b-mock', '"mock:gpt\\u200b-mock"', 'invisible format characters'],
  ['mock:\u00adgpt-mock', '"mock:\\u00adgpt-mock"', 'invisible format characters'],
  ['mock:gpt-mock\ufeff', '"mock:gpt-mock\\ufeff"', 'invisible format characters'],
]

/** Whether a message shows a character an operator cannot see (or that breaks its line). */
const hidesCharacters = (message: string) => /[\p{Cf}\u0085\u00a0\t]/u.test(message)

describe('a pricing seed for a model spelt as the admin API refuses stops startup, naming pricing and the name', () => {
  for (const [model, shown, reason] of SPELLINGS)
    test(shown, () => {
      const message = refusal({ pricing: { [model]: PRICE } }) ?? 'accepted'
      expect({ names: message.includes(`pricing.${shown}`), reason: message.includes(reason), hides: hidesCharacters(message) }, message).toEqual({ names: true, reason: true, hides: false })
    })

  test('beside the model meant, it is no second row: it is refused all the same', () => {
    const message = refusal({ pricing: { 'mock:gpt-mock': PRICE, 'mock:gpt-mock ': { input_per_million: 9, output_per_million: 9 } } }) ?? 'accepted'
    expect(message).toContain('pricing."mock:gpt-mock "')
  })

  test('a key that is no provider:model at all names its rule, not "Invalid key in record"', () => {
    const message = refusal({ pricing: { ' mock:gpt-mock': PRICE } }) ?? 'accepted'
    expect(message).toContain('pricing." mock:gpt-mock"')
    expect(message).not.toContain('Invalid key')
  })
})

describe('an alias spelt so, its name or its target, stops startup naming aliases and the name', () => {
  for (const [model, shown, reason] of SPELLINGS)
    test(`target ${shown}`, () => {
      const message = refusal({ aliases: { fast: model } }) ?? 'accepted'
      expect({ names: message.includes(`aliases.fast: ${shown}`), reason: message.includes(reason), hides: hidesCharacters(message) }, message).toEqual({ names: true, reason: true, hides: false })
    })

  for (const [name, shown] of [['fast ', '"fast "'], ['fa\u200bst', '"fa\\u200bst"'], ['\u0085fast', '"\\u0085fast"']] as const)
    test(`name ${shown}`, () => {
      const message = refusal({ aliases: { [name]: 'mock:gpt-mock' } }) ?? 'accepted'
      expect({ names: message.includes(`aliases.${shown}`), hides: hidesCharacters(message) }, message).toEqual({ names: true, hides: false })
    })
})

test('names the admin API takes are taken: whitespace inside a model id, a slash, a plain alias', () => {
  const config = loadConfig({
    TOLLGATE_MASTER_KEY: MASTER_KEY,
    TOLLGATE_CONFIG: configFile({ pricing: { 'mock:modèle 2': PRICE, 'mock/gpt-mock': PRICE }, aliases: { fast: 'mock:modèle 2', 'the fast one': 'mock/gpt-mock' } }),
  })
  expect(Object.keys(config.pricing)).toEqual(['mock:modèle 2', 'mock/gpt-mock'])
  expect(config.aliases).toEqual({ fast: 'mock:modèle 2', 'the fast one': 'mock/gpt-mock' })
})

test('a real start with such a price exits 1 naming it, before listening', async () => {
  const { code, output } = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: configFile({ pricing: { 'mock:gpt-mock\u200b': PRICE } }) })
  expect(code).toBe(1)
  expect(output).not.toContain('listening on')
  expect(output).toContain('pricing."mock:gpt-mock\\u200b": must not contain invisible format characters')
})

/**
 * What an answer is refused for quoting (test/answer-echoing-credentials.test.ts): the credentials a provider is
 * sent — its api key, the headers named as credentials (whole and word by word), the password of its base URL as
 * written and as the `Basic` token — and not every configured value `secretsOf` cuts from error text (an app's
 * name in `X-Title`, the base URL's user name), which a true answer may well say.
 */
import { expect, test } from 'bun:test'
import { credentialsOf, quotesCredentials, secretsOf } from '../src/providers/upstream'

const TITLE = 'Acme Tollgate Helper'
const provider = {
  type: 'openai' as const,
  base_url: 'https://gateway-user:p%2Fss-word-123@proxy.example.com/v1',
  api_key: 'sk-key-0123456789',
  headers: { 'X-Title': TITLE, 'api-key': 'azure-0123456789', Authorization: 'Bearer bearer-0123456789' },
}

test('the credentials among the secrets, and those with a slash as a JSON encoder may escape it (PHP)', () => {
  const basic = Buffer.from('gateway-user:p/ss-word-123').toString('base64')
  const sent = ['sk-key-0123456789', 'azure-0123456789', 'Bearer bearer-0123456789', 'bearer-0123456789', 'p/ss-word-123', basic]
  expect(credentialsOf(provider).sort()).toEqual([...sent, 'p\\/ss-word-123', ...(basic.includes('/') ? [basic.replaceAll('/', '\\/')] : [])].sort())
  expect(secretsOf(provider)).toEqual(expect.arrayContaining([...sent, TITLE, 'gateway-user']))
})

test('quoted as sent, or with its slashes escaped', () => {
  const credentials = credentialsOf(provider)
  expect(quotesCredentials('{"url":"https:\\/\\/gateway-user:p\\/ss-word-123@proxy"}', credentials)).toBe(true)
  expect(quotesCredentials('authorization: Basic ' + Buffer.from('gateway-user:p/ss-word-123').toString('base64'), credentials)).toBe(true)
  expect(quotesCredentials(`${TITLE}, gateway-user`, credentials)).toBe(false)
})

test('a placeholder key a local server takes (no digit, under 20 characters) is no credential an answer is refused for', () => {
  // Before: LM Studio's `lm-studio` counted, so an answer saying "lm-studio" was refused 502 and paid as unusable.
  for (const api_key of ['lm-studio', 'not-needed', 'sk-no-key-required'])
    expect(credentialsOf({ ...provider, base_url: 'http://127.0.0.1:1234/v1', api_key, headers: {} })).toEqual([])
  expect(credentialsOf({ ...provider, base_url: 'http://127.0.0.1:1234/v1', api_key: 'sk-abcdefghijklmnopqrstuvwxyz', headers: {} })).toEqual(['sk-abcdefghijklmnopqrstuvwxyz'])
})

/**
 * What an answer is refused for quoting (test/answer-echoing-credentials.test.ts): the credentials a provider is
 * sent — its api key, the headers named as credentials (whole and word by word), the password of its base URL as
 * written and as the `Basic` token when that header is sent — and not every configured value `secretsOf` cuts from
 * error text (an app's name in `X-Title`, the base URL's user name), which a true answer may well say; nor a value
 * that does not look issued (test/answer-quoting-non-credentials.test.ts).
 */
import { expect, test } from 'bun:test'
import { credentialsOf, quotesCredentials, secretsOf } from '../src/providers/upstream'

const TITLE = 'Acme Tollgate Helper'
const PASSWORD = 'k9/x7Qm2-Zt4'
// An Anthropic provider sends its key as `x-api-key`: no `Authorization` header replaces the base URL's `Basic` one.
const provider = {
  type: 'anthropic' as const,
  base_url: 'https://gateway-user:k9%2Fx7Qm2-Zt4@proxy.example.com',
  api_key: 'sk-key-4f9a0c2b7d1e',
  headers: { 'X-Title': TITLE, 'api-key': 'azure-7c3e9b1d5a20', 'X-Proxy-Token': 'Bearer bearer-8d2f6a4c0e' },
}
const basicOf = (userAndPassword: string) => Buffer.from(userAndPassword).toString('base64')

test('the credentials among the secrets, and those with a slash as a JSON encoder may escape it (PHP)', () => {
  const basic = basicOf(`gateway-user:${PASSWORD}`)
  const sent = ['sk-key-4f9a0c2b7d1e', 'azure-7c3e9b1d5a20', 'Bearer bearer-8d2f6a4c0e', 'bearer-8d2f6a4c0e', PASSWORD, basic]
  expect(credentialsOf(provider).sort()).toEqual([...sent, 'k9\\/x7Qm2-Zt4', ...(basic.includes('/') ? [basic.replaceAll('/', '\\/')] : [])].sort())
  expect(secretsOf(provider)).toEqual(expect.arrayContaining([...sent, TITLE, 'gateway-user']))
})

test('quoted as sent, or with its slashes escaped', () => {
  const credentials = credentialsOf(provider)
  expect(quotesCredentials('{"url":"https:\\/\\/gateway-user:k9\\/x7Qm2-Zt4@proxy"}', credentials)).toBe(true)
  expect(quotesCredentials('authorization: Basic ' + basicOf(`gateway-user:${PASSWORD}`), credentials)).toBe(true)
  expect(quotesCredentials(`${TITLE}, gateway-user`, credentials)).toBe(false)
})

test("the base URL's password and Basic token count only when the Basic header is sent", () => {
  const urlCredentials = [PASSWORD, basicOf(`gateway-user:${PASSWORD}`)]
  const openai = { ...provider, type: 'openai' as const, headers: {} }
  // An `openai` provider's key goes as `Authorization: Bearer …`, and fetch then sends no `Basic` header.
  expect(credentialsOf(openai)).not.toEqual(expect.arrayContaining([PASSWORD]))
  expect(credentialsOf({ ...openai, api_key: '' })).toEqual(expect.arrayContaining(urlCredentials))
  // Nor when the provider's own headers set `Authorization`, in any case.
  expect(credentialsOf({ ...provider, headers: { AUTHORIZATION: 'Token t0k3n-9f8e7d6c5b4a' } })).not.toEqual(expect.arrayContaining([PASSWORD]))
  // Still cut from error text: it is in the configuration.
  expect(secretsOf(openai)).toEqual(expect.arrayContaining(urlCredentials))
})

test('a placeholder key (no digit, or words and numbers side by side, under 20 characters) is no credential an answer is refused for', () => {
  // Before: LM Studio's `lm-studio` counted, so an answer saying "lm-studio" was refused 502 and paid as unusable;
  // then vLLM's documented `token-abc123` ("it has a digit").
  for (const api_key of ['lm-studio', 'not-needed', 'sk-no-key-required', 'token-abc123', 'password1234', 'changeme-2024'])
    expect(credentialsOf({ ...provider, base_url: 'http://127.0.0.1:1234/v1', api_key, headers: {} })).toEqual([])
  // Nor the header that sends one: `Bearer token-abc123` is what vLLM's documentation shows a client sending.
  expect(credentialsOf({ ...provider, base_url: 'http://127.0.0.1:1234/v1', api_key: '', headers: { Authorization: 'Bearer token-abc123' } })).toEqual([])
  // Nor a password that is a word, nor the Basic token made of it (`admin:admin`, the stock example of Basic auth).
  expect(credentialsOf({ ...provider, base_url: 'http://admin:admin@127.0.0.1:1234', api_key: '', headers: {} })).toEqual([])
  for (const api_key of ['sk-abcdefghijklmnopqrstuvwxyz', 'k9x7Qm2Zt4Lp'])
    expect(credentialsOf({ ...provider, base_url: 'http://127.0.0.1:1234/v1', api_key, headers: {} })).toEqual([api_key])
})

test('quoted with JSON escapes a client decodes (.NET writes `+` as \\u002B), and not for a \\u that spells none', () => {
  const credentials = ['Zm9vOmJh+citiYXo9PTEyMzQ1']
  expect(quotesCredentials('{"authorization":"Basic Zm9vOmJh+citiYXo9PTEyMzQ1"}'.replace('+', '\\u002B'), credentials)).toBe(true)
  expect(quotesCredentials('{"authorization":"Basic Zm9vOmJh+citiYXo9PTEyMzQ1"}'.replace('+', '\\u002b'), credentials)).toBe(true)
  expect(quotesCredentials('{"text":"caf\\u00e9 Zm9vOmJh+citi"}', credentials)).toBe(false)
  expect(quotesCredentials('{"path":"C:\\\\users"}', credentials)).toBe(false)
})

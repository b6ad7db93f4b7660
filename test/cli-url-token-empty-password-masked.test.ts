/**
 * Red team (jt): 1ae65d11 masks a TOLLGATE_URL user-info without ':' whole (`http://<token>@host`), and a password
 * (`user:<password>@`). A token written as the user name with an EMPTY password — `http://<token>:@host`, curl's
 * `-u <token>:` convention (Stripe-style keys, many token proxies document exactly this form) — has `password === ''`:
 * withoutCredentials (src/config/client-urls.ts:33) hands it to withoutPassword, whose writtenForms('') is empty, so
 * nothing is masked and "cannot reach the gateway at http://<token>:@…" prints the proxy's token to stderr.
 * SPEC §2: secrets are never logged; README's security model counts a proxy token written as the user name.
 */
import { expect, test } from 'bun:test'
import { withoutCredentials } from '../src/config/client-urls'
import { runTollgate } from './support/cli'

const TOKEN = 'prxtok-4Hq9Zt2Lw8Xc1Vb7Nm3K'

test('control: the token as the user name alone is masked', async () => {
  const { code, stderr } = await runTollgate(`http://${TOKEN}@127.0.0.1:1`, ['users', 'list'])
  expect({ code, leaked: stderr.includes(TOKEN) }).toEqual({ code: 1, leaked: false })
})

test('the token as the user name with an empty password (`<token>:@`, curl -u token:) is not printed either', async () => {
  const { code, stderr } = await runTollgate(`http://${TOKEN}:@127.0.0.1:1`, ['users', 'list'])
  expect({ code, leaked: stderr.includes(TOKEN) }).toEqual({ code: 1, leaked: false })
})

test('withoutCredentials masks a user-info `<token>:` as written and as a URL parser prints it (`<token>@`)', () => {
  const url = `redis://${TOKEN}:@127.0.0.1:6379`
  const masked = withoutCredentials(`bad ${url} (${new URL(url).href})`, url)
  expect(masked.includes(TOKEN)).toBe(false)
})

test('an empty password masks the user-info whole, the host and the rest kept', () => {
  const url = 'redis://s%40cret:@127.0.0.1:6379/abc'
  expect(withoutCredentials(`bad ${url} ('s@cret:@127.0.0.1', redis://s%40cret@127.0.0.1:6379/abc); data@home`, url)).toBe(
    "bad redis://***@127.0.0.1:6379/abc ('***@127.0.0.1', redis://***@127.0.0.1:6379/abc); data@home",
  )
})

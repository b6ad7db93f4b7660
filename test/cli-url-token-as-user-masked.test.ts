/**
 * Red team (jp): SPEC §2, secrets are never logged; the README's security model counts a proxy that "may take its token
 * as the user name: `https://<token>@proxy/v1`" among the credentials a URL carries. The CLI masks a TOLLGATE_URL's
 * password (`user:***@`: withoutPassword, src/config/client-urls.ts), but a URL whose user-info is the token alone has no
 * `:` and so no "password": "cannot reach the gateway at http://<token>@…" prints the proxy's token whole to stderr (a
 * CI job's log, a shared terminal), where the same token written as `x:<token>@` is masked.
 */
import { expect, test } from 'bun:test'
import { withoutCredentials } from '../src/config/client-urls'
import { runTollgate } from './support/cli'

const TOKEN = 'prxtok-4Hq9Zt2Lw8Xc1Vb7Nm3K'

test('control: the token written as a password is masked', async () => {
  const { code, stderr } = await runTollgate(`http://x:${TOKEN}@127.0.0.1:1`, ['users', 'list'])
  expect({ code, leaked: stderr.includes(TOKEN) }).toEqual({ code: 1, leaked: false })
})

test('the token written as the user name (a proxy that takes it so) is not printed either', async () => {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  const { code, stderr } = await runTollgate(`http://${TOKEN}@127.0.0.1:1`, ['users', 'list'])
  expect({ code, leaked: stderr.includes(TOKEN) }).toEqual({ code: 1, leaked: false })
})

test('a user-info without `:` is masked whole where a URL starts it, as written, decoded or parsed; not inside a word', () => {
  const url = 'redis://s%40cret@127.0.0.1:6379/abc'
  expect(withoutCredentials(`bad ${url} ('s@cret@127.0.0.1'); data@home`, url)).toBe("bad redis://***@127.0.0.1:6379/abc ('***@127.0.0.1'); data@home")
  expect(withoutCredentials('user a: data@home, //a@host', 'http://a@host')).toBe('user a: data@home, //***@host')
  // A password is masked as before, the user name kept.
  expect(withoutCredentials('at http://admin:pw-1@host', 'http://admin:pw-1@host')).toBe('at http://admin:***@host')
})

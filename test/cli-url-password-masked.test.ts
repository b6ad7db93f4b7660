/**
 * SPEC §2: secrets are never logged. A gateway behind a proxy with basic auth is reached with
 * TOLLGATE_URL=https://admin:<password>@gateway.example.com; when it could not be reached, the CLI's message quoted the
 * URL whole, password and all, to stderr (a CI job's log, a terminal shared on a call). Everywhere else tollgate
 * masks a URL's password (`user:***@`: provider base URLs, TOLLGATE_DATABASE_URL, TOLLGATE_REDIS_URL).
 */
import { expect, test } from 'bun:test'
import { runTollgate } from './support/cli'

test('"cannot reach the gateway" names the URL without its password, as user:***@', async () => {
  for (const password of ['proxy-pw-7Hc2Qx9Lm', 'p%40ss-9Wq2']) {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const { code, stderr } = await runTollgate(`http://admin:${password}@127.0.0.1:1`, ['users', 'list'])
    expect({ password, code }).toEqual({ password, code: 1 })
    expect(stderr).toContain('cannot reach the gateway at http://admin:***@127.0.0.1:1')
    for (const written of [password, decodeURIComponent(password)]) expect(stderr).not.toContain(written)
  }
})

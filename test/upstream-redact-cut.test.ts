/**
 * SPEC §3, provider error text is "never forwarded with credentials": a non-JSON error body (a proxy's text or
 * HTML page) is cut to a short excerpt, and the configured secrets are cut out before that, so a secret that
 * straddles the cut leaves no part of itself.
 */
import { describe, expect, test } from 'bun:test'
import type { ProviderConfig } from '../src/config/schema'
import { summariseUpstreamText } from '../src/providers/upstream'

// A key without a recognisable prefix (Azure, Mistral, Together, a proxy's token): only the whole-value cut can find it.
const KEY = '9f2c4e7a1b3d5f608a2c4e6b8d0f1a3c'
const provider: ProviderConfig = { type: 'openai', base_url: 'https://proxy.example/v1', api_key: KEY, headers: {} } as ProviderConfig

describe('redacting a provider error body that is cut short', () => {
  test('text/plain: a configured key that straddles the excerpt cut leaves no part of itself in the summary', () => {
    const body = `Authentication failed at the upstream proxy for the request you sent; the credential it carried was ${KEY} (unknown)`
    expect(body.indexOf(KEY)).toBeLessThan(120)
    expect(body.indexOf(KEY) + KEY.length).toBeGreaterThan(120)
    const summary = summariseUpstreamText(401, body, provider, 'text/plain')
    expect(summary).not.toContain(KEY.slice(0, 12))
  })

  test('a JSON error longer than 4096 bytes (parsed as text): the key in its message leaves no part of itself', () => {
    const body = JSON.stringify({ error: { message: `The credential sent to this model deployment was rejected by the proxy: ${KEY}.`, details: 'x'.repeat(5000) } })
    expect(body.indexOf(KEY)).toBeLessThan(110)
    expect(body.indexOf(KEY) + KEY.length).toBeGreaterThan(120)
    const summary = summariseUpstreamText(401, body, provider, 'application/json')
    expect(summary).not.toContain(KEY.slice(0, 12))
  })
})

/**
 * A text answer relayed past its start is searched for the provider's credentials as it is read
 * (src/providers/credential-watch.ts): a credential cut between reads, however small they are, or written with JSON
 * escapes, is found before any byte of it is relayed; an answer without one is relayed whole, byte for byte.
 */
import { expect, test } from 'bun:test'
import { CredentialWatch } from '../src/providers/credential-watch'
import { CredentialsEchoed } from '../src/providers/upstream'

const KEY = 'sk-operator-provider-key-Zq81hT0pLw3x'
const bytes = (text: string) => new TextEncoder().encode(text)

/** What the watch relays of `text` read in pieces of `size`, and whether it refused it. */
function relayed(text: string, size: number): { out: string; refused: boolean } {
  const watch = new CredentialWatch([KEY])
  const all = bytes(text)
  const out: Uint8Array[] = []
  try {
    for (let at = 0; at < all.length; at += size) out.push(...watch.next(all.slice(at, at + size)))
    out.push(watch.end())
    return { out: Buffer.concat(out).toString(), refused: false }
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsEchoed)
    return { out: Buffer.concat(out).toString(), refused: true }
  }
}

test('a credential cut anywhere between two reads is found, nothing of it relayed', () => {
  const text = `{"data":"${'a'.repeat(300)}","headers":{"Authorization":"Bearer ${KEY}"}}`
  const at = text.indexOf(KEY)
  for (const size of [1, 7, 64, 256, 1000, 16_384]) {
    const { out, refused } = relayed(text, size)
    expect({ size, refused }).toEqual({ size, refused: true })
    expect(out.length).toBeLessThanOrEqual(at)
  }
})

test('a credential written with JSON escapes is found as the whole check finds it', () => {
  const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
  for (const size of [5, 100, 4096]) expect(relayed(`{"data":"${'b'.repeat(500)}","key":"${escaped}"}`, size).refused).toBe(true)
})

test('an answer without a credential is relayed whole, byte for byte, whatever its reads', () => {
  const text = `{"text":"${'héllo \\u00e9 '.repeat(2000)}${KEY.slice(0, -1)}"}`
  for (const size of [1, 13, 221, 222, 16_384]) expect(relayed(text, size)).toEqual({ out: text, refused: false })
})

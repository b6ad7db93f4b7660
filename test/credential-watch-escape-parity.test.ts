/**
 * The answer watch (src/providers/credential-watch.ts) decodes JSON escapes in each read and in the seam of held bytes
 * and the read's start. A window that starts on the second `\` of an escaped backslash `\\` would read that `\` as an
 * escape's start and swallow the next escape's own `\`: a key written `\u0073\u006b…` right after `\\` was found by
 * neither window, and `\\\\u0073…` (the text `\u0073…`, no key) was taken for one. Both are decoded from where the
 * escape parity is known, whatever the reads.
 */
import { expect, test } from 'bun:test'
import { CredentialWatch } from '../src/providers/credential-watch'
import { CredentialsEchoed } from '../src/providers/upstream'

const KEY = 'sk-operator-provider-key-Zq81hT0pLw3x'
const ESCAPED = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
/** The watch's held bytes: 6 per character of the key, less one. */
const HELD = 6 * KEY.length - 1

/** Whether the watch refuses `text` read in the pieces `cuts` make, and what it relayed. */
function watched(text: string, cuts: number[]): { out: string; refused: boolean } {
  const watch = new CredentialWatch([KEY])
  const all = new TextEncoder().encode(text)
  const edges = [0, ...cuts, all.length]
  const out: Uint8Array[] = []
  try {
    for (let i = 1; i < edges.length; i++) out.push(...watch.next(all.slice(edges[i - 1], edges[i])))
    out.push(watch.end())
    return { out: Buffer.concat(out).toString(), refused: false }
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsEchoed)
    return { out: Buffer.concat(out).toString(), refused: true }
  }
}

/** Every cut from well before the backslashes to past the key: the edge, the seam's start or both on the run. */
const cutsAround = (text: string, at: number) => Array.from({ length: 3 * HELD }, (_, i) => at - HELD + i).filter((c) => c > 0 && c < text.length)

for (const run of ['\\\\', '\\\\\\\\', '\\"\\\\']) {
  test(`a key written with escapes after ${run} is refused wherever one read ends`, () => {
    const text = `{"data":"${'a'.repeat(400)}${run}${ESCAPED}","done":true}`
    const at = text.indexOf(run)
    const missed = cutsAround(text, at).filter((cut) => !watched(text, [cut]).refused)
    expect(missed).toEqual([])
  })

  test(`a key written with escapes after ${run} is refused whatever two reads end around it`, () => {
    const text = `{"data":"${'a'.repeat(400)}${run}${ESCAPED}","done":true}`
    const at = text.indexOf(run)
    const missed: number[][] = []
    for (const first of [at - 1, at, at + 1, at + 2, at + 3])
      for (const size of [1, 2, 3, 7, HELD - 1, HELD, HELD + 1, HELD + 2]) if (!watched(text, [first, first + size]).refused) missed.push([first, size])
    expect(missed).toEqual([])
  })
}

test('a key read a byte at a time after `\\\\` is refused', () => {
  const text = `{"data":"${'a'.repeat(400)}\\\\${ESCAPED}"}`
  expect(watched(text, Array.from({ length: text.length - 1 }, (_, i) => i + 1)).refused).toBe(true)
})

test('the text `\\u0073k-operator…` written escaped (`\\\\u0073…`, no key) is relayed whole wherever a read ends', () => {
  // Decoded from the second `\` of the `\\` before it, `\u0073` would read as `s` and the text as the key.
  const text = `{"data":"${'a'.repeat(400)}\\\\\\\\u0073${KEY.slice(1)}","done":true}`
  expect((JSON.parse(text).data as string).includes(KEY)).toBe(false)
  const at = text.indexOf('\\')
  const refused = cutsAround(text, at).filter((cut) => watched(text, [cut]).refused)
  expect(refused).toEqual([])
  expect(watched(text, [at + 1])).toEqual({ out: text, refused: false })
})

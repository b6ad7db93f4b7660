import { describe, expect, test } from 'bun:test'
import { MOST_NFKC_BYTES_PER_UNIT, nfkcBoundBytes, nfkcBoundBytesOfRange } from '../src/budget/nfkc-bytes'

const bytes = (s: string) => Buffer.byteLength(s, 'utf8')
const nfkc = (s: string) => bytes(s.normalize('NFKC'))

/** Every code point but the surrogates, as a string. */
const everyCodePoint: string[] = []
for (let cp = 0x80; cp < 0x110000; cp++) if (cp < 0xd800 || cp > 0xdfff) everyCodePoint.push(String.fromCodePoint(cp))

describe('nfkcBoundBytes: at least the UTF-8 bytes of a text in NFKC, a code point at a time', () => {
  test('a text NFKC leaves as it is counts its bytes; one that expands, its NFKC bytes', () => {
    expect(nfkcBoundBytes('plain ASCII')).toBe(11)
    expect(nfkcBoundBytes('déjà vu, 日本語, 한국어')).toBe(bytes('déjà vu, 日本語, 한국어'))
    expect(nfkcBoundBytes('\uFDFA'.repeat(1000))).toBe(33_000)
    expect(nfkcBoundBytes('\uFB01')).toBe(3) // ﬁ is "fi" in NFKC: fewer bytes, its own count
    expect(nfkcBoundBytes('\uD835\uDC00')).toBe(4) // 𝐀, a surrogate pair: one code point of 4 bytes
    expect(nfkcBoundBytes('\uD800x')).toBe(4) // a lone surrogate: the 3 bytes of the replacement character
  })

  test('a precomposed letter followed by a mark that joins back counts its decomposition: À + U+0323 is U+1EA0 U+0300', () => {
    expect(nfkc('\u00C0\u0323')).toBe(5)
    expect(nfkcBoundBytes('\u00C0\u0323')).toBe(5)
    expect(nfkcBoundBytes('\u00C0b')).toBe(3)
  })

  test('every code point alone counts the larger of its UTF-8 and its NFKC bytes', () => {
    const miscounted = everyCodePoint.filter((c) => nfkcBoundBytes(c) !== Math.max(bytes(c), nfkc(c)))
    expect(miscounted).toEqual([])
    // Past the first three planes, read without normalizing: nothing there decomposes, the only marks are U+E0100–E01EF.
    const past = everyCodePoint.filter((c) => c.codePointAt(0)! >= 0x30000)
    expect(past.filter((c) => c.normalize('NFKD') !== c)).toEqual([])
    expect(past.filter((c) => /\p{M}/u.test(c)).map((c) => c.codePointAt(0))).toEqual(Array.from({ length: 240 }, (_, i) => 0xe0100 + i))
  })

  test('what may join back does: a mark of a combining class above 1 (sorted past U+0334) and the later halves of every composition', () => {
    // À (2 bytes) is 3 in NFKD: a code point after it counts that byte more when it joins back to it.
    const joinsBack = (c: string) => nfkcBoundBytes(`\u00C0${c}`) === 3 + nfkcBoundBytes(c)
    const sortedPastOverlay = everyCodePoint.filter((c) => `a${c}\u0334`.normalize('NFD').startsWith('a\u0334'))
    expect(sortedPastOverlay.length).toBeGreaterThan(500)
    expect(sortedPastOverlay.filter((c) => !joinsBack(c))).toEqual([])
    const laterHalves = everyCodePoint.filter((c) => c.normalize('NFC') === c).flatMap((c) => [...c.normalize('NFD')].slice(1))
    expect(laterHalves.filter((c) => !joinsBack(c))).toEqual([])
  })

  test('a composition never makes a text longer: every canonical composite is at most the bytes of its decomposition', () => {
    const longer = everyCodePoint.filter((c) => c.normalize('NFC') === c && bytes(c.normalize('NFD')) < bytes(c))
    expect(longer).toEqual([])
  })

  test('random texts of composites, marks, jamo and letters: never less than their NFKC bytes', () => {
    const decomposing = everyCodePoint.filter((c) => c.normalize('NFKD') !== c)
    const marks = everyCodePoint.filter((c) => /^\p{M}/u.test(c.normalize('NFKD')))
    const jamo = Array.from({ length: 0x100 }, (_, i) => String.fromCharCode(0x1100 + i))
    const letters = ['a', 'A', ' ', 'é', '가', '日', '\uFDFA']
    const pick = (from: string[]) => from[Math.floor(Math.random() * from.length)]!
    const short: string[] = []
    for (let k = 0; k < 200_000; k++) {
      let s = ''
      for (let n = 1 + Math.floor(Math.random() * 8); n > 0; n--) {
        const r = Math.random()
        s += pick(r < 0.35 ? decomposing : r < 0.75 ? marks : r < 0.85 ? jamo : letters)
      }
      if (nfkcBoundBytes(s) < nfkc(s)) short.push(s)
    }
    expect(short).toEqual([])
  })
})


describe('nfkcBoundBytesOfRange: the most a text counts with its last code point anywhere in a range', () => {
  test('the largest of the range, a block at a time or a code point at a time alike', () => {
    expect(nfkcBoundBytesOfRange('', 0xfd00, 0xfdff)).toBe(33)
    expect(nfkcBoundBytesOfRange('ab', 0x41, 0x5a)).toBe(3)
    expect(nfkcBoundBytesOfRange('', 0x20, 0xffff)).toBe(33)
    for (const [first, last] of [[0x00a0, 0x00ff], [0x2a00, 0x2aff], [0x1100, 0x11ff], [0x1d400, 0x1d4ff]] as const) {
      let most = 0
      for (let cp = first; cp <= last; cp++) most = Math.max(most, nfkcBoundBytes(`\u00C0${String.fromCodePoint(cp)}`))
      expect(nfkcBoundBytesOfRange('\u00C0', first, last)).toBe(most)
    }
  })

  test('no code point counts more than MOST_NFKC_BYTES_PER_UNIT a UTF-16 unit, with the most the one before may add', () => {
    // ㈝ (8 bytes in NFKC) is 17 in NFKD, the most a code point adds when the next joins back to it.
    let most = 0
    for (const c of everyCodePoint) most = Math.max(most, nfkcBoundBytes(c) / c.length, nfkcBoundBytes(`\u321D${c}`) - 8)
    expect(most).toBeLessThanOrEqual(MOST_NFKC_BYTES_PER_UNIT)
  })
})

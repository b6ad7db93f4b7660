/**
 * A bound on the UTF-8 bytes of a text's NFKC form, worked out a code point at a time from a table: linear in the
 * text, and never running the normalizer on the text itself (ICU puts a run of combining marks in canonical order in
 * time quadratic in the run: 48,000 marks of alternating classes took ~1.7 s).
 *
 * Why a sum over code points bounds the whole. NFKC(s) is the canonical composition of NFKD(s), and NFKD(s) is the
 * concatenation of each code point's NFKD, reordered (which moves bytes, never adds them). A composition replaces
 * two code points by one never longer than the two (every composition in Unicode; test/nfkc-bytes.test.ts checks
 * them all), so NFKC(s) is at most the sum of its code points' NFKD bytes. A code point's own NFKC is shorter than
 * its NFKD only by composing its own decomposition (`é` is 2 bytes, `e` + U+0301 3); the text after it can undo
 * that only with a character that joins back to it (a combining mark, sorted in among its marks or composed with
 * its base first: `À` + U+0323 is U+1EA0 U+0300, 5 bytes where the two were 4; or a vowel or final Hangul jamo).
 * So each code point counts the larger of its UTF-8 and its NFKC bytes, and a code point followed by one that joins
 * back counts its NFKD bytes instead: exact for text that NFKC leaves as it is, and for a precomposed letter
 * followed by a letter.
 */

/** Bits of a code point's entry: its NFKC bytes past its UTF-8 bytes, its NFKD bytes past those, whether it joins back. */
const EXTRA_MASK = 0x3f
const SLACK_SHIFT = 6
const SLACK_MASK = 0x3f
const JOINS_BACK = 1 << 12
const KNOWN = 1 << 13

/** Filled as code points are first met (about half a µs each, a block at once for a range: ~40 µs). */
const entries = new Uint16Array(0x110000)

/**
 * Code points that may join what precedes them: whatever NFKC makes of them starts with a combining mark (every
 * character of a nonzero combining class is one), a Hangul vowel or final jamo, or U+16D67, the one other second
 * half of a composition (Kirat Rai's vowel sign).
 */
const JOINS_BACK_START = /^[\p{M}\u1161-\u1175\u11A8-\u11C2\u{16D67}]/u

const utf8Length = (cp: number) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4)

/**
 * Past the first three planes nothing decomposes (CJK extensions, tags, variation selectors, private use), and the
 * only marks are the variation selectors U+E0100–E01EF: such a code point counts its 4 bytes, read without
 * normalizing (test/nfkc-bytes.test.ts checks every one).
 */
const UNDECOMPOSED_FROM = 0x30000
const isVariationSelector = (cp: number) => cp >= 0xe0100 && cp <= 0xe01ef

function entryOf(cp: number): number {
  const known = entries[cp]!
  if (known !== 0) return known
  if (cp >= UNDECOMPOSED_FROM) return (entries[cp] = KNOWN | (isVariationSelector(cp) ? JOINS_BACK : 0))
  const c = String.fromCodePoint(cp)
  return (entries[cp] = entryFrom(cp, c.normalize('NFKC'), c.normalize('NFKD')))
}

function entryFrom(cp: number, nfkc: string, nfkd: string): number {
  const own = utf8Length(cp)
  const bytes = Math.max(own, Buffer.byteLength(nfkc, 'utf8'))
  const slack = Math.max(0, Buffer.byteLength(nfkd, 'utf8') - bytes)
  return KNOWN | (JOINS_BACK_START.test(nfkd) ? JOINS_BACK : 0) | (slack << SLACK_SHIFT) | (bytes - own)
}

/**
 * At least the UTF-8 bytes of `s` in NFKC, and at least its UTF-8 bytes (a lone surrogate counts the 3 bytes of
 * the replacement character it is sent as). A text NFKC leaves as it is counts exactly its bytes.
 */
export function nfkcBoundBytes(s: string): number {
  let n = Buffer.byteLength(s, 'utf8')
  // The NFKD bytes past its NFKC bytes of the code point before, counted if the next one joins back to it.
  let slack = 0
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i)
    if (cp < 0x80) {
      slack = 0
      continue
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1)
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
        i++
      }
    }
    const entry = entryOf(cp)
    n += entry & EXTRA_MASK
    if (entry & JOINS_BACK) n += slack
    slack = (entry >> SLACK_SHIFT) & SLACK_MASK
  }
  return n
}

/** Code points whose most is kept together (`blockMost`): a range of thousands costs a few lookups. */
const BLOCK = 256
/** By block: 1 + the most bytes a code point of it counts, twice, + 1 if one joins back. */
const blocks = new Uint8Array(0x110000 / BLOCK)
/** Between the code points of a block normalized at once: a control character NFKC neither makes nor joins. */
const APART = '\u0001'

/** The entries of a block's code points, two normalizations for all of them (a code point at a time is 256 each). */
function fillBlock(block: number): void {
  if (block * BLOCK >= UNDECOMPOSED_FROM) {
    for (let cp = block * BLOCK; cp < (block + 1) * BLOCK; cp++) entryOf(cp)
    return
  }
  const chars: string[] = []
  for (let cp = block * BLOCK; cp < (block + 1) * BLOCK; cp++) chars.push(String.fromCodePoint(cp))
  const nfkc = chars.join(APART).normalize('NFKC').split(APART)
  const nfkd = chars.join(APART).normalize('NFKD').split(APART)
  for (let k = 0; k < BLOCK; k++) {
    const cp = block * BLOCK + k
    if (entries[cp] === 0) entries[cp] = nfkc.length === BLOCK && nfkd.length === BLOCK ? entryFrom(cp, nfkc[k]!, nfkd[k]!) : entryOf(cp)
  }
}

function blockMost(block: number): number {
  if (blocks[block] === 0) {
    fillBlock(block)
    let most = 0
    let joins = 0
    for (let cp = block * BLOCK; cp < (block + 1) * BLOCK; cp++) {
      const entry = entries[cp]!
      most = Math.max(most, utf8Length(cp) + (entry & EXTRA_MASK))
      if (entry & JOINS_BACK) joins = 1
    }
    blocks[block] = 1 + most * 2 + joins
  }
  return blocks[block]! - 1
}

/** The most a code point counts a UTF-16 unit: 33 bytes (U+FDFA), and at most 9 of the one before it when it joins back. */
export const MOST_NFKC_BYTES_PER_UNIT = 42

/**
 * The most `nfkcBoundBytes(prefix + c)` is for a code point `c` from `first` to `last`: what a PDF's `bfrange` maps
 * a run of codes to (each code's destination the one before it, its last character one higher). Costs a lookup a
 * code point, or a block's for a whole block.
 */
export function nfkcBoundBytesOfRange(prefix: string, first: number, last: number): number {
  let most = 0
  let joins = false
  for (let cp = first; cp <= last; ) {
    if (cp % BLOCK === 0 && cp + BLOCK - 1 <= last) {
      const block = blockMost(cp / BLOCK)
      most = Math.max(most, block >> 1)
      joins ||= (block & 1) === 1
      cp += BLOCK
    } else {
      if (entries[cp] === 0) fillBlock(Math.floor(cp / BLOCK))
      const entry = entries[cp]!
      most = Math.max(most, utf8Length(cp) + (entry & EXTRA_MASK))
      joins ||= (entry & JOINS_BACK) !== 0
      cp++
    }
  }
  return nfkcBoundBytes(prefix) + most + (joins ? slackOfLast(prefix) : 0)
}

/** The slack (NFKD bytes past the NFKC bytes) of the last code point of `s`. */
function slackOfLast(s: string): number {
  const cp = s.codePointAt(s.length - 1 - (s.length > 1 && /[\uDC00-\uDFFF]$/.test(s) ? 1 : 0))
  return cp === undefined || cp < 0x80 ? 0 : (entryOf(cp) >> SLACK_SHIFT) & SLACK_MASK
}

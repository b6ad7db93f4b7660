/**
 * The pages of a PDF, read from its bytes without a PDF parser, for the estimate: providers bill a PDF
 * per page (each page's text and an image of it), far more than its bytes. Pages are the larger of the
 * page tree's largest `/Count` and the number of `/Type /Page` objects, found in the file and in its
 * Flate-compressed object streams, where PDF 1.5+ writers put them. Anything that could hide pages (no
 * page found, an object stream this cannot read) makes the answer at least the caller's `unreadable`.
 * A hand-made file can still mislead a scan like this one; it errs towards more pages.
 */
import { inflateSync } from 'node:zlib'

/** All the object streams of one PDF together may inflate to this much; a larger total is unreadable (a zip bomb). */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024
/** A `/Count` is read up to this: far past any real PDF, and a whole number where `/Count 1e400`'s digits would be Infinity. */
const MAX_COUNT = 10_000_000

const WS = '(?:[\\0\\t\\n\\f\\r ]|%[^\\r\\n]*[\\r\\n])*'
const NAME_END = '(?![^\\0\\t\\n\\f\\r ()<>\\[\\]{}/%])'

/** A PDF name as a pattern, each character also in its `#xx` escape (`/P#61ge` is `/Page`). */
const name = (n: string) =>
  '/' +
  [...n].map((c) => {
    const hex = c.charCodeAt(0).toString(16)
    return `(?:${c}|#${hex.toLowerCase()}|#${hex.toUpperCase()})`
  }).join('') + NAME_END

/** A `/Type` of interest: group 1 a page tree node, 2 a page, 3 an object stream. */
const TYPE = new RegExp(`${name('Type')}${WS}(?:(${name('Pages')})|(${name('Page')})|(${name('ObjStm')}))`, 'g')
const TYPE_PAGES = new RegExp(`${name('Type')}${WS}${name('Pages')}`)
const TYPE_OBJSTM = new RegExp(`${name('Type')}${WS}${name('ObjStm')}`)
/** A direct whole number: `/Count 5 0 R` names an object, not five pages. */
const direct = (key: string, flags = '') => new RegExp(`${name(key)}${WS}\\+?(\\d+)(?!\\d)(?!${WS}\\d+${WS}R)`, flags)
const COUNT = direct('Count', 'g')
const LENGTH = direct('Length')
const FIRST = direct('First')
const FLATE_ONLY = new RegExp(`${name('Filter')}${WS}(?:${name('FlateDecode')}|\\[${WS}${name('FlateDecode')}${WS}\\])`)
const FILTER = new RegExp(name('Filter'))
const PREDICTOR = new RegExp(`${name('Predictor')}${WS}\\+?0*(?:[2-9]|1\\d)`)
const STREAM = /\bstream(?:\r\n|\n|\r)/g

interface Tally {
  pages: number
  count: number
  hidden: boolean
  inflated: number
}

export function pdfPages(pdf: Buffer, unreadable: number): number {
  const tally: Tally = { pages: 0, count: 0, hidden: false, inflated: 0 }
  const text = pdf.toString('latin1')
  // A page tree node or an object stream is read whole, from the `endobj` before it to the one after.
  // Both ends only move forward and each object is read once: a file of a million `/Type /Pages` and no
  // `endobj` is still read in one pass.
  let start = 0
  let end = -1
  let read = -1
  for (const m of text.matchAll(TYPE)) {
    if (m[2] !== undefined) {
      tally.pages++
      continue
    }
    while (end === -1 || end < m.index) {
      if (end !== -1) start = end
      const next = text.indexOf('endobj', start + 1)
      end = next === -1 ? text.length : next
    }
    if (read === start) continue
    read = start
    const object = text.slice(start, end)
    if (TYPE_PAGES.test(object)) countIn(object, tally)
    if (TYPE_OBJSTM.test(object)) objectStream(pdf, object, start, tally)
  }
  const found = Math.max(tally.pages, tally.count)
  return found === 0 || tally.hidden ? Math.max(found, unreadable) : found
}

function countIn(object: string, tally: Tally): void {
  for (const m of object.matchAll(COUNT)) tally.count = Math.max(tally.count, Math.min(Number(m[1]), MAX_COUNT))
}

/** An object stream's objects, each read as the file's are. Filters but Flate, or a predictor, leave it unread: hidden. */
function objectStream(pdf: Buffer, object: string, offset: number, tally: Tally): void {
  STREAM.lastIndex = 0
  const open = STREAM.exec(object)
  if (!open) return
  const dict = object.slice(0, open.index)
  const dataStart = open.index + open[0].length
  const length = Number(LENGTH.exec(dict)?.[1] ?? -1)
  const dataEnd = length >= 0 && dataStart + length <= object.length ? dataStart + length : object.indexOf('endstream', dataStart)
  const flate = FLATE_ONLY.test(dict)
  if (dataEnd < 0 || (!flate && FILTER.test(dict)) || PREDICTOR.test(dict)) {
    tally.hidden = true
    return
  }
  let content: string
  try {
    const data = pdf.subarray(offset + dataStart, offset + dataEnd)
    const bytes = flate ? inflateSync(data, { maxOutputLength: Math.max(1, MAX_INFLATED_BYTES - tally.inflated) }) : data
    tally.inflated += bytes.length
    content = bytes.toString('latin1')
  } catch {
    tally.hidden = true
    return
  }
  for (const inner of objectsOf(content, Number(FIRST.exec(dict)?.[1] ?? 0))) {
    for (const m of inner.matchAll(TYPE)) if (m[2] !== undefined) tally.pages++
    if (TYPE_PAGES.test(inner)) countIn(inner, tally)
  }
}

/**
 * An object stream's objects by the offsets in its header (object numbers and offsets from `/First`).
 * A header that does not parse leaves the whole content as one object: every `/Count` in it is then
 * taken for a page tree's, which errs towards more pages.
 */
function objectsOf(content: string, first: number): string[] {
  const numbers = content.slice(0, first).trim().split(/[\0\t\n\f\r ]+/).map(Number)
  if (first <= 0 || numbers.length < 2 || numbers.length % 2 !== 0 || numbers.some((n) => !Number.isInteger(n) || n < 0)) return [content]
  const offsets = [...new Set(numbers.filter((_, i) => i % 2 === 1))].sort((a, b) => a - b).map((o) => first + o)
  return offsets.map((o, i) => content.slice(o, offsets[i + 1] ?? content.length))
}

import { expect, test } from 'bun:test'
import { deflateSync } from 'node:zlib'
import { pdfWork, readPdf } from '../src/budget/pdf-pages'
import { pdfFile } from './support/pdf'

/**
 * The PDF reader runs on the request thread and promises one request's PDFs "about a tenth of a second at most"
 * (`REQUEST_PDF_WORK`), every step charged to one shared budget. An inflate that failed was charged nothing (only
 * a RangeError, past the cap, spent the work), and zlib checks a stream's Adler-32 only at its end: a Flate stream
 * of 8 kB that inflates 8 MB of spaces and carries a wrong checksum was fully inflated, then thrown away uncharged,
 * and the next one got the whole budget again; every stream kept being inflated after the first failure had made
 * the text unbounded. 12 MB of such streams (16 MB of base64, under the 25 MB body limit) blocked the event loop
 * for 3-4 s; 235,000 two-byte streams, each throwing (~20-30 µs), for 1.5-7.5 s.
 *
 * A failed inflate charges all the output it was allowed, and nothing is inflated once the text is unbounded: one
 * zlib call each. The CPU time is only a backstop.
 */
const TAIL = '1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj 3 0 obj<</Type/Page/Parent 2 0 R>>endobj\n%%EOF'

/**
 * The read's CPU time, not its wall time: the process's own time barely grows when other processes share the
 * cores (a CI machine running the engine suites beside this one), where wall time grew past the bound.
 */
function timed(pdf: Buffer) {
  const work = pdfWork()
  const started = process.cpuUsage()
  const read = readPdf(pdf, 100, work)
  const spent = process.cpuUsage(started)
  return { ms: Math.round((spent.user + spent.system) / 1000), read, work }
}

test('Flate streams that fail their checksum after inflating 8 MB each: the first spends the work, no other is inflated', () => {
  const bad = deflateSync(Buffer.alloc(8 * 1024 * 1024, 0x20), { level: 9 })
  bad[bad.length - 1]! ^= 0xff // wrong Adler-32: "incorrect data check", raised after the whole output
  const unit = Buffer.concat([Buffer.from(`<</Filter/FlateDecode/Length ${bad.length}>>stream\n`), bad, Buffer.from('\nendstream\n')])
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), ...Array<Buffer>(1500).fill(unit), Buffer.from(TAIL)])
  expect(Math.ceil(pdf.length / 3) * 4).toBeLessThan(25 * 1024 * 1024) // fits a request as base64
  const { ms, read, work } = timed(pdf)
  expect({ textBounded: read.textBounded, inflates: work.inflates, workSpent: work.left < 4096 }).toEqual({ textBounded: false, inflates: 1, workSpent: true })
  expect({ ms, underOneSecond: ms < 1000 }).toMatchObject({ underOneSecond: true })
})

test('235,000 two-byte corrupt Flate streams: one zlib call, the read well under a second', () => {
  const pdf = Buffer.from('%PDF-1.4\n' + '<</Filter/FlateDecode>>stream\nxx\nendstream\n'.repeat(235_000) + TAIL, 'latin1')
  const { ms, read, work } = timed(pdf)
  expect({ textBounded: read.textBounded, inflates: work.inflates }).toEqual({ textBounded: false, inflates: 1 })
  expect({ ms, underOneSecond: ms < 1000 }).toMatchObject({ underOneSecond: true })
})

test('many small valid Flate streams: each zlib call is charged, so their number is bounded', () => {
  const empty = deflateSync(Buffer.alloc(0))
  const unit = Buffer.concat([Buffer.from(`<</Filter/FlateDecode/Length ${empty.length}>>stream\n`), empty, Buffer.from('\nendstream\n')])
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), ...Array<Buffer>(100_000).fill(unit), Buffer.from(TAIL)])
  const { ms, read, work } = timed(pdf)
  // 64 MiB of work at 4,096 a call (and the tokens around each): far fewer calls than streams.
  expect({ textBounded: read.textBounded, fewerCallsThanStreams: work.inflates < 16_384 }).toEqual({ textBounded: false, fewerCallsThanStreams: true })
  expect({ ms, underOneSecond: ms < 1000 }).toMatchObject({ underOneSecond: true })
})

test('an object stream that fails its checksum spends the work too: its pages are hidden, the read stops', () => {
  const bad = deflateSync(Buffer.alloc(8 * 1024 * 1024, 0x20), { level: 9 })
  bad[bad.length - 1]! ^= 0xff
  const unit = Buffer.concat([Buffer.from(`<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length ${bad.length}>>stream\n`), bad, Buffer.from('\nendstream\n')])
  const pdf = Buffer.concat([Buffer.from('%PDF-1.5\n'), ...Array<Buffer>(1500).fill(unit), Buffer.from(TAIL)])
  const { ms, read, work } = timed(pdf)
  expect({ pages: read.pages, textBounded: read.textBounded, inflates: work.inflates }).toEqual({ pages: 100, textBounded: false, inflates: 1 })
  expect({ ms, underOneSecond: ms < 1000 }).toMatchObject({ underOneSecond: true })
})

/**
 * A font's ToUnicode CMap was read looking for the next `beginbfchar` and the next `beginbfrange` from every section:
 * one keyword the map never has was searched for to its end each time, quadratic in the map's size while its work
 * was charged linearly. A 10 kB PDF whose CMap inflates to 2.2 MB of empty bfchar sections took 3.3 s (3.5 MB: 11 s).
 */
test('a ToUnicode CMap of 100,000 empty bfchar sections is read in one pass, well under a second', () => {
  const cmap = deflateSync(Buffer.from('beginbfchar endbfchar\n'.repeat(100_000), 'latin1'), { level: 9 })
  const pdf = pdfFile([
    '<</Type/Catalog/Pages 2 0 R>>',
    '<</Type/Pages/Count 1/Kids[3 0 R]>>',
    '<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>',
    [Buffer.from('<</Length 18>>stream\nBT /F1 12 Tf ET\n\nendstream\n', 'latin1')],
    '<</Type/Font/Subtype/Type1/BaseFont/Helvetica/ToUnicode 6 0 R>>',
    [Buffer.from(`<</Length ${cmap.length}/Filter/FlateDecode>>stream\n`, 'latin1'), cmap, Buffer.from('\nendstream\n', 'latin1')],
  ])
  expect(pdf.length).toBeLessThan(10_000)
  const started = performance.now()
  const read = readPdf(pdf, 100, pdfWork())
  const ms = Math.round(performance.now() - started)
  expect({ pages: read.pages, ms, underOneSecond: ms < 1000 }).toMatchObject({ pages: 1, underOneSecond: true })
}, 60_000)

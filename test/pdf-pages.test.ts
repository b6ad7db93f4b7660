import { describe, expect, test } from 'bun:test'
import { deflateSync } from 'node:zlib'
import { pdfPages } from '../src/budget/pdf-pages'
import { blankPdf } from './support/pdf'

const UNREADABLE = 100
const pages = (pdf: string | Buffer) => pdfPages(typeof pdf === 'string' ? Buffer.from(pdf, 'latin1') : pdf, UNREADABLE)

/** A PDF body from its objects, numbered from 1 (no cross-reference table: the count does not read one). */
const objects = (...bodies: string[]) => `%PDF-1.7\n${bodies.map((b, i) => `${i + 1} 0 obj\n${b}\nendobj\n`).join('')}%%EOF\n`
const page = '<< /Type /Page /Parent 2 0 R >>'

/** An object stream holding `bodies`, Flate-compressed, as object `number`. */
function objectStream(number: number, bodies: string[]): string {
  let header = ''
  let content = ''
  bodies.forEach((b, i) => {
    header += `${100 + i} ${content.length} `
    content += `${b}\n`
  })
  const data = deflateSync(Buffer.from(header + content, 'latin1')).toString('latin1')
  return `${number} 0 obj\n<< /Type /ObjStm /N ${bodies.length} /First ${header.length} /Filter /FlateDecode /Length ${data.length} >>\nstream\n${data}\nendstream\nendobj\n`
}

describe('pdfPages', () => {
  test('a plain file: the page tree\'s /Count and its /Type /Page objects', () => {
    expect(pages(blankPdf(1))).toBe(1)
    expect(pages(blankPdf(250))).toBe(250)
  })

  test('the larger of the largest /Count of a page tree node and the /Page objects', () => {
    expect(pages(objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 2 /Kids [3 0 R 4 0 R 5 0 R] >>', page, page, page))).toBe(3)
    expect(pages(objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Count 40 /Type /Pages /Kids [3 0 R] >>', page))).toBe(40)
  })

  test('an outline\'s /Count is not a page tree\'s', () => {
    expect(pages(objects('<< /Type /Pages /Count 1 /Kids [3 0 R] >>', '<< /Type /Outlines /Count 70 >>', page))).toBe(1)
  })

  test('names written with #xx escapes, and comments between the tokens, still name a page', () => {
    expect(pages(objects('<< /T#79pe /P#61ges /C#6Funt 12 >>', '<< /Type %a comment\n/Page >>'))).toBe(12)
    expect(pages(objects('<< /Type/Page >>', '<< /Type /P#61ge >>', '<< /Type\n/Page/Parent 1 0 R >>'))).toBe(3)
  })

  test('a /Count given as a reference (`5 0 R`) is not read as 5 pages', () => {
    expect(pages(objects('<< /Type /Pages /Count 50 0 R /Kids [3 0 R] >>', '7', page))).toBe(1)
  })

  test('pages in a Flate-compressed object stream are counted, with those outside it', () => {
    expect(pages(blankPdf(60, { objectStream: 'flate' }))).toBe(60)
    const tree = ['<< /Type /Pages /Count 4 /Kids [101 0 R 102 0 R 103 0 R 104 0 R] >>', page, page, page, page]
    expect(pages(`%PDF-1.5\n${objectStream(1, tree)}%%EOF\n`)).toBe(4)
    expect(pages(`%PDF-1.5\n${objectStream(1, ['<< /Type /Pages /Count 2 >>'])}${objects(page, page, page)}`)).toBe(3)
  })

  test('what could hide pages makes the answer at least the fallback: no page found, an object stream under another filter or corrupt', () => {
    expect(pages('%PDF-1.7\nnothing here\n%%EOF')).toBe(UNREADABLE)
    expect(pages(blankPdf(3, { objectStream: 'unreadable' }))).toBe(UNREADABLE)
    expect(pages(blankPdf(150, { objectStream: 'unreadable' }).toString('latin1') + objects('<< /Type /Pages /Count 150 >>'))).toBe(150)
    const corrupt = `%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 5 >>\nstream\nxxxxx\nendstream\nendobj\n`
    expect(pages(corrupt)).toBe(UNREADABLE)
  })

  test('an object stream that inflates past the bound is unread (a zip bomb), and the answer comes quickly', () => {
    const bomb = deflateSync(Buffer.alloc(65 * 1024 * 1024, 0x20))
    const pdf = Buffer.concat([
      Buffer.from(`%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${bomb.length} >>\nstream\n`, 'latin1'),
      bomb,
      Buffer.from(`\nendstream\nendobj\n${objects(page)}`, 'latin1'),
    ])
    const started = performance.now()
    expect(pages(pdf)).toBe(UNREADABLE)
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  test('a file of 200,000 page tree nodes without `endobj` is read in one pass', () => {
    const started = performance.now()
    expect(pages(`%PDF-1.7\n${'<</Type/Pages/Count 1>>'.repeat(200_000)}`)).toBe(1)
    expect(performance.now() - started).toBeLessThan(3_000)
  })
})

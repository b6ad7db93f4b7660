import { describe, expect, test } from 'bun:test'
import { deflateSync } from 'node:zlib'
import { pdfPages, pdfWork, readPdf } from '../src/budget/pdf-pages'
import { blankPdf, pdfWithNote } from './support/pdf'

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

  test('a string `(endobj)` in an object stream\'s dictionary does not cut the stream off: its 300 pages count (was 1)', () => {
    expect(pages(pdfWithNote(100, null))).toBeGreaterThanOrEqual(100) // without the string (101: the orphan page too)
    expect(pages(pdfWithNote(300, null))).toBeGreaterThanOrEqual(300)
    // Read up to the first `endobj` (the one in the string), the stream was not found, nor marked hidden: 1 page, the orphan's.
    expect(pages(pdfWithNote(300))).toBeGreaterThanOrEqual(300)
    expect(pages(pdfWithNote(300, '(a \\) endobj ( nested ) stream endstream)'))).toBeGreaterThanOrEqual(300)
    expect(pages(pdfWithNote(300, '<656e646f626a>'))).toBeGreaterThanOrEqual(300)
    expect(pages(pdfWithNote(300, '(x) % a comment: endobj stream )\n'))).toBeGreaterThanOrEqual(300)
  })

  test('what the scan cannot read with confidence counts as hidden, never as fewer pages', () => {
    const tree = `%PDF-1.5\n${objectStream(9, ['<< /Type /Pages /Count 300 >>', page])}`
    expect(pages(tree)).toBe(300)
    // A string never closed, brackets that do not match, a dictionary of a key without its value: the fallback.
    expect(pages(`%PDF-1.7\n1 0 obj\n<< /Type /Page /Note (open >>\nendobj\n`)).toBe(UNREADABLE)
    expect(pages(objects('<< /Type /Page /Kids [1 0 R >>'))).toBe(UNREADABLE)
    expect(pages(objects('<< /Type /Page /Count >>'))).toBe(UNREADABLE)
    // A stream whose length is a reference ends at the first `endstream`: data holding `endstream (` then
    // swallows the object stream after it into a string, as far as the tokenizer sees; the blind scan sees it.
    const swallowed = `%PDF-1.5\n1 0 obj\n<< /Type /Page /Length 2 0 R >>\nstream\nendstream (\nendstream\nendobj\n${tree.slice(9)}) endobj\n`
    expect(pages(swallowed)).toBeGreaterThanOrEqual(UNREADABLE)
    // `/Type /ObjStm` anywhere the tokenizer did not read an object stream: in a string, a comment, a dictionary with no stream.
    expect(pages(objects('<< /Type /Page /Note (<< /Type /ObjStm >>) >>'))).toBe(UNREADABLE)
    expect(pages(objects('<< /Type /Page >> % /Type /ObjStm'))).toBe(UNREADABLE)
    expect(pages(objects('<< /Type /Page >>', '<< /Type /ObjStm >>'))).toBe(UNREADABLE)
  })

  test('strings, comments and stream data do not end an object: a page tree read whole', () => {
    expect(pages(objects('<< /Type /Pages /Note (endobj) /Count 7 >>', page))).toBe(7)
    expect(pages(objects('<< /Type /Pages /Note (a \\( b) /Count 7 >>', page))).toBe(7)
    expect(pages(objects('<< /Type /Pages % endobj >>\n /Count 7 >>', page))).toBe(7)
    const data = 'endobj ( endobj >> <<'
    expect(pages(`%PDF-1.7\n1 0 obj\n<< /Length ${data.length} >>\nstream\n${data}\nendstream\nendobj\n${objects('<< /Type /Pages /Count 7 >>', page).slice(9)}`)).toBe(7)
  })

  // Each pattern had a regex rescan what follows it: `/Type%` to the line's end at every name (160 kB: 3-5 s).
  const HOSTILE: Record<string, string> = {
    '`/Type%` with no line end': '/Type%',
    'comment lines of `/Type`': '%/Type\n',
    '`/Type` and white-space': '/Type \n\r\t ',
    'page tree nodes': '<</Type/Pages/Count 1>>',
    'escaped names': '/T#79pe/P#61ges ',
    'unclosed strings': '((((',
    'nested brackets': '<<[',
    'references': '/Count 1 0 R ',
    'streams without an end': '<<>>stream\n',
  }
  test('a 19 MB PDF (25 MB of base64) of any of these patterns is read in linear time, well under a second', () => {
    for (const [what, pattern] of Object.entries(HOSTILE)) {
      const pdf = Buffer.from(`%PDF-1.7\n${pattern.repeat(Math.ceil(19_000_000 / pattern.length))}`, 'latin1')
      const started = performance.now()
      expect(pages(pdf)).toBeGreaterThanOrEqual(UNREADABLE)
      const ms = performance.now() - started
      // Measured 40-150 ms each; the /Type% one took 44 s at 480 kB before.
      if (ms > 2_000) throw new Error(`${what}: ${ms.toFixed(0)} ms`)
    }
  }, 30_000)

  test('the work is bounded: a PDF larger than what is left of it is not read; a spent budget reads nothing more', () => {
    const work = pdfWork()
    work.left = 100_000
    expect(pdfPages(blankPdf(5), UNREADABLE, work)).toBe(5)
    expect(work.left).toBeLessThan(100_000)
    work.left = 10
    expect(pdfPages(blankPdf(5), UNREADABLE, work)).toBe(UNREADABLE)
    expect(work.left).toBe(10)
    // Tokens cost more than their bytes: a budget for the bytes alone runs out in the middle, and pages may be hidden.
    const many = Buffer.from(objects(...Array.from({ length: 2_000 }, () => page)), 'latin1')
    expect(pdfPages(many, UNREADABLE, { left: many.length * 2, inflates: 0 })).toBeGreaterThanOrEqual(UNREADABLE)
    expect(pdfPages(many, UNREADABLE)).toBe(2_000)
  })
})

/** A stream object's body: its dictionary (with its `/Length`) and its data, as latin1 text. */
const stream = (dict: string, data: string | Buffer) => {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data
  return `<< ${dict} /Length ${bytes.length} >>\nstream\n${bytes.toString('latin1')}\nendstream`
}
const flate = (text: string) => stream('/Filter /FlateDecode', deflateSync(Buffer.from(text, 'latin1')))
const read = (pdf: string | Buffer) => readPdf(typeof pdf === 'string' ? Buffer.from(pdf, 'latin1') : pdf, UNREADABLE)
/** A page's text: 120 kB that deflates to a few hundred bytes. */
const TEXT = `BT /F1 1 Tf (${'the '.repeat(30_000)}) Tj ET`

describe('readPdf: the text a PDF\'s pages may show is its content streams decoded', () => {
  const onePage = (...more: string[]) => objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 1 /Kids [3 0 R] >>', '<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>', ...more)

  test('a Flate content stream counts its inflated bytes, an unfiltered one its bytes', () => {
    const pdf = onePage(flate(TEXT))
    expect(pdf.length).toBeLessThan(2_000)
    expect(read(pdf)).toEqual({ pages: 1, text: TEXT.length, textBounded: true })
    expect(read(onePage(stream('', 'BT (hello) Tj ET')))).toEqual({ pages: 1, text: 16, textBounded: true })
  })

  test('a page listed n times shows its content n times; a form, or a stream of unknown use, counts once', () => {
    const pdf = objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 3 /Kids [3 0 R 3 0 R 3 0 R] >>', '<< /Type /Page /Contents 4 0 R >>', flate(TEXT),
      stream('/Type /XObject /Subtype /Form /Filter /FlateDecode', deflateSync(Buffer.from(TEXT))))
    expect(read(pdf)).toEqual({ pages: 3, text: 4 * TEXT.length, textBounded: true })
  })

  test('streams declared as something a page does not draw are not decoded, unless a /Contents names them', () => {
    const image = stream('/Type /XObject /Subtype /Image /Filter /FlateDecode', deflateSync(Buffer.alloc(1_000_000)))
    const font = stream('/Length1 5000 /Filter /FlateDecode', deflateSync(Buffer.alloc(5_000)))
    const jpeg = stream('/Subtype /Image /Filter /DCTDecode', 'not really a JPEG')
    expect(read(onePage(stream('', 'BT ET'), image, font, jpeg))).toEqual({ pages: 1, text: 5, textBounded: true })
    // Drawn as content all the same: a reader does not look at the dictionary of what /Contents names.
    expect(read(onePage(stream('/Subtype /Image /Filter /FlateDecode', deflateSync(Buffer.from(TEXT)))))).toEqual({ pages: 1, text: TEXT.length, textBounded: true })
    const named = objects('<< /Type /Pages /Count 1 /Kids [2 0 R] >>', '<< /Type /Page /Contents [3 0 R 4 0 R] >>', stream('/Length1 9 /Filter /FlateDecode', deflateSync(Buffer.from(TEXT))), stream('/Type /EmbeddedFile', 'x'))
    expect(read(named)).toEqual({ pages: 1, text: TEXT.length + 1, textBounded: true })
  })

  test('text that cannot be read leaves it unbounded: another filter, corrupt data, a /Contents naming no stream read, an `endstream` the tokenizer did not read', () => {
    expect(read(onePage(stream('/Filter /LZWDecode', 'xxxx'))).textBounded).toBe(false)
    expect(read(onePage(stream('/Filter [/ASCII85Decode /FlateDecode]', 'xxxx'))).textBounded).toBe(false)
    expect(read(onePage(stream('/Filter /FlateDecode', 'not deflated'))).textBounded).toBe(false)
    expect(read(objects('<< /Type /Pages /Count 1 /Kids [2 0 R] >>', '<< /Type /Page /Contents 3 0 R >>', '[4 0 R]', stream('/Subtype /Image', 'BT ET'))).textBounded).toBe(false)
    // A content stream inside what the tokenizer takes for a string (its object reached by the cross-reference table).
    const swallowed = `%PDF-1.7\n1 0 obj\n(\n2 0 obj\n${flate(TEXT)}\nendobj\n)\nendobj\n${objects('<< /Type /Pages /Count 1 /Kids [4 0 R] >>', '<< /Type /Page /Contents 2 0 R >>').slice(9)}`
    expect(read(swallowed).textBounded).toBe(false)
    // Pages that may be hidden hide text too; a stream cut short counts what it inflates to, as readers take it.
    expect(read(blankPdf(3, { objectStream: 'unreadable' })).textBounded).toBe(false)
    const cut = deflateSync(Buffer.from(TEXT)).subarray(0, 200)
    expect(read(onePage(stream('/Filter /FlateDecode', cut))).text).toBeGreaterThan(0)
  })

  test('a content stream that inflates past the work is not read further, and the answer comes quickly: unbounded', () => {
    const bomb = deflateSync(Buffer.alloc(80 * 1024 * 1024, 0x20))
    const started = performance.now()
    expect(read(onePage(stream('/Filter /FlateDecode', bomb))).textBounded).toBe(false)
    expect(performance.now() - started).toBeLessThan(2_000)
    // The work is shared: a second PDF read with what is left is not read either.
    const work = pdfWork()
    readPdf(Buffer.from(onePage(stream('/Filter /FlateDecode', bomb)), 'latin1'), UNREADABLE, work)
    expect(readPdf(Buffer.from(onePage(flate(TEXT)), 'latin1'), UNREADABLE, work)).toEqual({ pages: UNREADABLE, text: 0, textBounded: false })
  })

  test('content streams in a PDF whose page tree is in an object stream count too', () => {
    const tree = ['<< /Type /Pages /Count 2 /Kids [101 0 R 102 0 R] >>', '<< /Type /Page /Contents 7 0 R >>', '<< /Type /Page /Contents 7 0 R >>']
    const pdf = `%PDF-1.5\n${objectStream(1, tree)}7 0 obj\n${flate(TEXT)}\nendobj\n%%EOF\n`
    expect(read(pdf)).toEqual({ pages: 2, text: 2 * TEXT.length, textBounded: true })
  })
})

describe('pdfPages: the pages a reader finds walking the page tree', () => {
  test('a page listed 100 times under a /Count of 1 is 100 pages (pypdf and qpdf walk /Kids)', () => {
    const kids = Array.from({ length: 100 }, () => '3 0 R').join(' ')
    expect(pages(objects('<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Count 1 /Kids [${kids}] >>`, page))).toBe(100)
  })

  test('shared nodes multiply: 10 × 10 references are 100 pages; nodes without a /Type are walked as readers walk them', () => {
    const ten = (ref: string) => Array.from({ length: 10 }, () => ref).join(' ')
    expect(pages(objects('<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Count 1 /Kids [${ten('3 0 R')}] >>`, `<< /Kids [${ten('4 0 R')}] >>`, page))).toBe(100)
    // No /Type anywhere but one decoy page: the catalog's /Pages starts the walk.
    expect(pages(objects('<< /Pages 2 0 R >>', `<< /Kids [${ten('3 0 R')}] >>`, `<< /Kids [${ten('4 0 R')}] >>`, '<< /MediaBox [0 0 1 1] >>', page))).toBe(100)
  })

  test('a tree in an object stream is walked by the numbers its header gives', () => {
    const tree = [`<< /Type /Pages /Count 1 /Kids [${Array.from({ length: 40 }, () => '102 0 R').join(' ')}] >>`, page]
    expect(pages(`%PDF-1.5\n${objectStream(1, tree)}%%EOF\n`)).toBe(40)
  })

  test('a tree that cannot be walked may hide pages: a node within its own subtree, /Kids by reference', () => {
    expect(pages(objects('<< /Type /Pages /Count 2 /Kids [2 0 R 3 0 R] >>', '<< /Kids [1 0 R] >>', page))).toBe(UNREADABLE)
    expect(pages(objects('<< /Type /Pages /Count 1 /Kids 2 0 R >>', '[3 0 R 3 0 R]', page))).toBe(UNREADABLE)
  })

  test('the walk is linear in the references: 40 levels of two shared kids (2^40 pages) and a chain 50,000 deep (no recursion)', () => {
    // Level i is object i + 2, its kids object i + 3 twice; the count stops at /Count's ceiling.
    const levels = Array.from({ length: 40 }, (_, i) => `<< /Kids [${i + 3} 0 R ${i + 3} 0 R] >>`)
    expect(pages(objects('<< /Type /Catalog /Pages 2 0 R >>', ...levels, page))).toBe(10_000_000)
    const chain = Array.from({ length: 50_000 }, (_, i) => `<< /Type /Pages /Count 1 /Kids [${i + 2} 0 R] >>`)
    const started = performance.now()
    expect(pages(objects(...chain, page))).toBe(1)
    expect(performance.now() - started).toBeLessThan(3_000)
  })

  test('an object defined again (an incremental update) counts its larger definition, not both', () => {
    const update = `${objects('<< /Type /Pages /Count 2 /Kids [2 0 R 3 0 R] >>', page, page)}1 0 obj\n<< /Type /Pages /Count 3 /Kids [2 0 R 3 0 R 4 0 R] >>\nendobj\n4 0 obj\n${page}\nendobj\n`
    expect(pages(update)).toBe(3)
  })
})

describe('readPdf: a form counts each time it is drawn', () => {
  /** One page showing `content`, its resources `resources`, and objects 5 on. */
  const page = (content: string, resources: string, ...more: string[]) =>
    objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 1 /Kids [3 0 R] >>', `<< /Type /Page /Parent 2 0 R /Resources << ${resources} >> /Contents 4 0 R >>`, stream('', content), ...more)
  const form = (text: string, resources = '') => stream(`/Type /XObject /Subtype /Form /Resources << ${resources} >> /Filter /FlateDecode`, deflateSync(Buffer.from(text)))
  const drawn = (n: number) => '/X Do\n'.repeat(n)

  test('a page drawing a form 300 times shows its text 300 times (pypdf: 1.2 MB from one page)', () => {
    expect(read(page(drawn(300), '/XObject << /X 5 0 R >>', form(TEXT)))).toEqual({ pages: 1, text: 1_800 + 300 * TEXT.length + TEXT.length, textBounded: true })
  })

  test('a report: a header form and a logo form (an image in a form) on 36 pages stays bounded, each draw counted', () => {
    const content = 'q 1 0 0 1 0 700 cm /Fm0 Do Q q 50 0 0 50 500 720 cm /Fm1 Do Q BT (body) Tj ET q 200 0 0 100 100 300 cm /Im0 Do Q'
    const kids = Array.from({ length: 36 }, () => '3 0 R').join(' ')
    const header = 'BT /F1 9 Tf (Quarterly report - confidential) Tj ET'
    const pdf = objects(
      '<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Count 36 /Kids [${kids}] >>`,
      '<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Fm0 5 0 R /Fm1 6 0 R /Im0 7 0 R >> >> /Contents 4 0 R >>',
      stream('', content), form(header), form('q /Im1 Do Q', '/XObject << /Im1 8 0 R >>'),
      stream('/Type /XObject /Subtype /Image /Filter /DCTDecode', 'not a JPEG'), stream('/Subtype /Image /Filter /DCTDecode', 'nor this'),
    )
    const logo = 'q /Im1 Do Q'.length
    expect(read(pdf)).toEqual({ pages: 36, text: 36 * (content.length + header.length + logo) + header.length + logo, textBounded: true })
  })

  test('forms drawn by forms multiply: a form drawn 10 times drawing one 10 times is 100 draws', () => {
    const pdf = page('/A Do\n'.repeat(10), '/XObject << /A 5 0 R >>', form('/B Do\n'.repeat(10), '/XObject << /B 6 0 R >>'), form(TEXT))
    const a = 60 + 10 * TEXT.length
    expect(read(pdf)).toEqual({ pages: 1, text: 60 + 10 * a + a + TEXT.length, textBounded: true })
  })

  test('a name is resolved through every /XObject dictionary, by reference too: the largest form it names counts', () => {
    const byReference = page(drawn(2), '/XObject 7 0 R', form('small'), form(TEXT), '<< /X 6 0 R >>')
    expect(read(byReference)).toEqual({ pages: 1, text: 12 + 2 * TEXT.length + 5 + TEXT.length, textBounded: true })
    // Another page's /X is another form: a name drawn counts the largest it may mean.
    const twoPages = objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 2 /Kids [3 0 R 8 0 R] >>',
      '<< /Type /Page /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R >>', stream('', drawn(1)), form('small'), form(TEXT), stream('', drawn(1)),
      '<< /Type /Page /Resources << /XObject << /X 6 0 R >> >> /Contents 7 0 R >>')
    expect(read(twoPages)).toEqual({ pages: 2, text: 2 * (6 + TEXT.length) + 5 + TEXT.length, textBounded: true })
  })

  test('a `Do` whose form cannot be told on a page counts the largest form; in a form, or a form that draws itself, the text is unbounded', () => {
    expect(read(page('(x) Do', '/XObject << /X 5 0 R /Y 6 0 R >>', form('small'), form(TEXT)))).toEqual({ pages: 1, text: 6 + TEXT.length + 5 + TEXT.length, textBounded: true })
    expect(read(page(drawn(1), '/XObject << /X 5 0 R >>', form('/Fm9 Do')))).toMatchObject({ textBounded: false })
    expect(read(page(drawn(1), '/XObject << /X 5 0 R >>', form('/X Do', '/XObject << /X 5 0 R >>')))).toMatchObject({ textBounded: false })
  })

  test('what a name means is drawn whatever its dictionary says, but an image; a dictionary this cannot read leaves drawn text unbounded', () => {
    const fontProgram = stream('/Length1 9 /Filter /FlateDecode', deflateSync(Buffer.from(TEXT)))
    expect(read(page(drawn(2), '/XObject << /X 5 0 R >>', fontProgram))).toEqual({ pages: 1, text: 12 + 2 * TEXT.length + TEXT.length, textBounded: true })
    // `/XObject` by reference to what is not a dictionary of references, or a name hidden in a string.
    expect(read(page(drawn(1), '/XObject 6 0 R', form(TEXT), '[5 0 R]'))).toMatchObject({ textBounded: false })
    expect(read(page(drawn(1), '/XObject << /X 5 0 R >> /Note (/XObject << /X 6 0 R >>)', form('small'), form(TEXT)))).toMatchObject({ textBounded: false })
    // Without any `Do`, no form is drawn again: nothing to resolve.
    expect(read(page('BT ET', '/XObject 6 0 R', form('small'), '[5 0 R]'))).toEqual({ pages: 1, text: 5 + 5, textBounded: true })
  })
})

describe('readPdf: a font\'s ToUnicode CMap may make many characters of a byte', () => {
  const utf16 = (text: string) => Buffer.from(text, 'utf16le').swap16().toString('hex')
  const cmap = (entries: string) => `1 begincodespacerange <00> <FF> endcodespacerange ${entries}`
  const page = (content: string, fontDict: string, ...more: string[]) =>
    objects('<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Count 1 /Kids [3 0 R] >>', '<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
      stream('', content), fontDict, ...more)
  const font = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>'

  test('each byte counts the characters its code may become: 5,000 codes of 240 characters are 1.2 MB, a ligature 3', () => {
    const content = `BT /F1 12 Tf <${'01'.repeat(5000)}> Tj ET`
    const expansion = cmap(`1 beginbfchar <01> <${utf16('the '.repeat(60))}> endbfchar`)
    const text = read(page(content, font, stream('', expansion))).text
    expect(text).toBeGreaterThanOrEqual(1_200_000)
    // `ffi` for the byte 0E: 3 on it and on an escape, 1.5 on a hex digit (`<0E>` is two), 1 on any other byte.
    const ligature = cmap('1 beginbfchar <0E> <006600660069> endbfchar')
    const weighed = (bytes: string) => [...bytes].reduce((n, c) => n + (c === '\x0e' || c === '\\' ? 3 : /[0-9a-fA-F]/.test(c) ? 1.5 : 1), 0)
    const shown = 'BT (\x0e) Tj ET'
    expect(read(page(shown, font, stream('', ligature)))).toEqual({ pages: 1, text: Math.ceil(weighed(shown) + weighed(ligature)), textBounded: true })
  })

  test('a CMap is read whatever its dictionary says (a font program\'s `/Length1`)', () => {
    const expansion = stream('/Length1 1', cmap(`1 beginbfchar <01> <${utf16('the '.repeat(60))}> endbfchar`))
    expect(read(page(`(${'\x01'.repeat(100)}) Tj`, font, expansion)).text).toBeGreaterThanOrEqual(24_000)
  })

  test('a CMap this cannot read, a `/ToUnicode` naming no stream read, or one the tokenizer did not read leave the text unbounded', () => {
    expect(read(page('BT ET', font, stream('', '1 beginbfchar <01> /fi endbfchar'))).textBounded).toBe(false)
    expect(read(page('BT ET', font, '[1 2]')).textBounded).toBe(false)
    expect(read(page('BT ET', '<< /Type /Font /Note (/ToUnicode 6 0 R) >>', stream('', cmap('')))).textBounded).toBe(false)
  })
})

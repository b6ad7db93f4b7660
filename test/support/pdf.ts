import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'

/**
 * A PDF of `pages` blank US-letter pages, as small as a PDF gets (a page is one short object), for the
 * estimate's page counting. `objectStream` puts the page tree in an object stream as PDF 1.5+ writers do:
 * Flate-compressed, or under a filter the gateway does not decode (ASCIIHex). `padding` adds a stream of that many
 * random bytes (a scanned image, say).
 */
export function blankPdf(pages: number, o: { objectStream?: 'flate' | 'unreadable'; padding?: number } = {}): Buffer {
  const tree = [`<</Type/Pages/Count ${pages}/MediaBox[0 0 612 792]/Kids[${Array.from({ length: pages }, (_, i) => `${i + 3} 0 R`).join(' ')}]>>`]
  for (let i = 0; i < pages; i++) tree.push('<</Type/Page/Parent 2 0 R>>')
  const chunks: Buffer[] = [Buffer.from('%PDF-1.5\n%\xe2\xe3\xcf\xd3\n', 'latin1')]
  let at = chunks[0]!.length
  const offsets: number[] = []
  const object = (body: string | Buffer[], number = offsets.length + 1) => {
    offsets.push(at)
    const parts = [Buffer.from(`${number} 0 obj`), ...(typeof body === 'string' ? [Buffer.from(body, 'latin1')] : body), Buffer.from('endobj\n')]
    for (const p of parts) {
      chunks.push(p)
      at += p.length
    }
  }
  const stream = (dict: string, data: Buffer) => [Buffer.from(`<<${dict}/Length ${data.length}>>stream\n`, 'latin1'), data, Buffer.from('\nendstream\n')]
  object('<</Type/Catalog/Pages 2 0 R>>')
  if (o.objectStream) {
    let header = ''
    let body = ''
    tree.forEach((t, i) => {
      header += `${i + 2} ${body.length} `
      body += `${t}\n`
    })
    const content = Buffer.from(header + body, 'latin1')
    const filter = o.objectStream === 'flate' ? '/Filter/FlateDecode' : '/Filter/ASCIIHexDecode'
    const data = o.objectStream === 'flate' ? deflateSync(content) : Buffer.from(`${content.toString('hex')}>`)
    object(stream(`/Type/ObjStm/N ${tree.length}/First ${header.length}${filter}`, data), tree.length + 2)
  } else for (const t of tree) object(t)
  if (o.padding) object(stream('/Type/XObject/Subtype/Image', randomBytes(o.padding)), tree.length + 3)
  const xref = at
  const trailer = `xref\n0 ${offsets.length + 1}\n0000000000 65535 f \n${offsets.map((n) => `${String(n).padStart(10, '0')} 00000 n \n`).join('')}` +
    `trailer<</Size ${offsets.length + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.concat([...chunks, Buffer.from(trailer, 'latin1')])
}

/**
 * A PDF 1.5 of `pages` pages whose page tree is in a Flate object stream, whose dictionary carries a
 * `/Note` of `note` (a PDF string may hold any bytes: `(endobj)`; null, none), and one orphan page object
 * outside the tree (which readers ignore).
 */
export function pdfWithNote(pages: number, note: string | null = '(endobj)'): Buffer {
  const tree = [`<</Type/Pages/Count ${pages}/MediaBox[0 0 612 792]/Kids[${Array.from({ length: pages }, (_, i) => `${i + 3} 0 R`).join(' ')}]>>`]
  for (let i = 0; i < pages; i++) tree.push('<</Type/Page/Parent 2 0 R>>')
  let header = ''
  let body = ''
  tree.forEach((t, i) => {
    header += `${i + 2} ${body.length} `
    body += `${t}\n`
  })
  const data = deflateSync(Buffer.from(header + body, 'latin1'))
  const stmNo = pages + 3
  const orphanNo = pages + 4
  const parts: Buffer[] = [Buffer.from('%PDF-1.5\n%\xe2\xe3\xcf\xd3\n', 'latin1')]
  let at = parts[0]!.length
  const offsets: Array<[number, number]> = []
  const push = (no: number, ...chunks: Buffer[]) => {
    offsets.push([no, at])
    for (const c of chunks) {
      parts.push(c)
      at += c.length
    }
  }
  push(1, Buffer.from('1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n'))
  push(stmNo,
    Buffer.from(`${stmNo} 0 obj\n<</Type/ObjStm/N ${tree.length}/First ${header.length}${note === null ? '' : `/Note${note}`}/Filter/FlateDecode/Length ${data.length}>>stream\n`, 'latin1'),
    data,
    Buffer.from('\nendstream\nendobj\n'))
  push(orphanNo, Buffer.from(`${orphanNo} 0 obj\n<</Type/Page/MediaBox[0 0 612 792]>>\nendobj\n`))
  // Readers reconstruct the object stream from this table; the page count a reader gets is the tree's /Count.
  const xref = at
  const trailer = `xref\n0 1\n0000000000 65535 f \n${offsets.map(([no, off]) => `${no} 1\n${String(off).padStart(10, '0')} 00000 n \n`).join('')}` +
    `trailer<</Size ${orphanNo + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.concat([...parts, Buffer.from(trailer, 'latin1')])
}

/** A PDF of one object stream of 64 kB that inflates to 63 MB: what a request of many small zip bombs sends. */
export function objectStreamBomb(): Buffer {
  const bomb = deflateSync(Buffer.alloc(63 * 1024 * 1024, 0x20), { level: 9 })
  return Buffer.concat([
    Buffer.from(`%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${bomb.length} >>\nstream\n`, 'latin1'),
    bomb,
    Buffer.from('\nendstream\nendobj\n', 'latin1'),
  ])
}

/** A PDF 1.4 of `objects` (numbered from 1, the first its catalog), with its cross-reference table, as writers make them: pypdf reads it. */
export function pdfFile(objects: Array<string | Buffer[]>): Buffer {
  const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n', 'latin1')]
  let at = chunks[0]!.length
  const offsets: number[] = []
  objects.forEach((o, i) => {
    offsets.push(at)
    const body = typeof o === 'string' ? [Buffer.from(o + '\n', 'latin1')] : o
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), ...body, Buffer.from('endobj\n', 'latin1')])
    chunks.push(obj)
    at += obj.length
  })
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((n) => `${String(n).padStart(10, '0')} 00000 n \n`).join('')}` +
    `trailer<</Size ${objects.length + 1}/Root 1 0 R>>\nstartxref\n${at}\n%%EOF\n`
  return Buffer.concat([...chunks, Buffer.from(xref, 'latin1')])
}

/** A stream object's body for `pdfFile`: its dictionary's entries (`/Length` added) and its data, Flate-compressed. */
export const flateStream = (dict: string, data: string): Buffer[] => {
  const bytes = deflateSync(Buffer.from(data, 'latin1'))
  return [Buffer.from(`<<${dict}/Length ${bytes.length}/Filter/FlateDecode>>stream\n`, 'latin1'), bytes, Buffer.from('\nendstream\n', 'latin1')]
}

/**
 * A one-page PDF 1.4 whose page shows `text` from one Flate-compressed content stream: 1.2 MB of text is a PDF of a
 * few kilobytes, as a page's text is in any PDF a writer compresses.
 */
export function deflatedTextPdf(text: string): Buffer {
  return pdfFile([
    '<</Type/Catalog/Pages 2 0 R>>',
    '<</Type/Pages/Count 1/Kids[3 0 R]>>',
    '<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>',
    flateStream('', `BT /F1 1 Tf 0 0 Td (${text}) Tj ET`),
    '<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>',
  ])
}

/**
 * A one-page PDF whose page draws a Form XObject showing `text` `draws` times (`/X Do` on each line of its content):
 * readers extract the form's text at each draw (pypdf 6.19: 1,200,299 characters for 4 kB drawn 300 times).
 */
export function formDrawnPdf(text: string, draws: number): Buffer {
  return pdfFile([
    '<</Type/Catalog/Pages 2 0 R>>',
    '<</Type/Pages/Count 1/Kids[3 0 R]>>',
    '<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</XObject<</X 5 0 R>>>>/Contents 4 0 R>>',
    flateStream('', '/X Do\n'.repeat(draws)),
    flateStream('/Type/XObject/Subtype/Form/BBox[0 0 612 792]/Resources<</Font<</F1 6 0 R>>>>', `BT /F1 12 Tf 10 10 Td (${text}) Tj ET`),
    '<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>',
  ])
}

/**
 * A one-page PDF showing the code 01 `codes` times (as a hex string) in a font whose `/ToUnicode` CMap maps it to
 * `expansion`: readers extract `expansion` for each (pypdf 6.19: 1,200,000 characters for 5,000 codes of 240).
 */
export function toUnicodePdf(codes: number, expansion: string): Buffer {
  const hex = Buffer.from(expansion, 'utf16le').swap16().toString('hex').toUpperCase()
  const cmap = '/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def /CMapType 2 def ' +
    `1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <01> <${hex}> endbfchar endcmap CMapName currentdict /CMap defineresource pop end end`
  return pdfFile([
    '<</Type/Catalog/Pages 2 0 R>>',
    '<</Type/Pages/Count 1/Kids[3 0 R]>>',
    '<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>',
    flateStream('', `BT /F1 12 Tf 10 10 Td <${'01'.repeat(codes)}> Tj ET`),
    '<</Type/Font/Subtype/Type1/BaseFont/Helvetica/ToUnicode 6 0 R>>',
    flateStream('', cmap),
  ])
}

/** A PDF whose page tree says `/Count 1` and lists its one page `times` times in `/Kids`: readers that walk the tree (pypdf, qpdf) find `times` pages. */
export function repeatedPagePdf(times: number): Buffer {
  const kids = Array.from({ length: times }, () => '3 0 R').join(' ')
  const bodies = ['<</Type/Catalog/Pages 2 0 R>>', `<</Type/Pages/Count 1/Kids[${kids}]>>`, '<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>']
  return Buffer.from(`%PDF-1.4\n${bodies.map((b, i) => `${i + 1} 0 obj\n${b}\nendobj\n`).join('')}trailer<</Root 1 0 R>>\n%%EOF\n`, 'latin1')
}

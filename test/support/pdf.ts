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

/**
 * The pages of a PDF and the text they may show, read from its bytes without a PDF parser, for the estimate:
 * providers bill a PDF per page (each page's text and an image of it), far more than its bytes. Pages are the
 * largest of the page tree's largest `/Count`, the number of `/Type /Page` entries, found in the file and in its
 * Flate-compressed object streams, where PDF 1.5+ writers put them, and the pages a reader finds walking the
 * tree's `/Kids` (a page listed twice is two pages). Anything that could hide pages (no page found, an object
 * stream this cannot read, a file this cannot tokenize with confidence, a tree that cannot be walked, the
 * request's work spent) makes the answer at least the caller's `unreadable`.
 *
 * A page's text is in its content streams, Flate-compressed (1.2 MB of text in 3 kB): the text is the decoded
 * bytes of every stream a page may draw (`readPdf`), a page's content counted each time the tree lists the page,
 * and a form's each time a stream draws it (`/X Do`, `pdf-forms.ts`). Streams declared as something else (an
 * image, a font program, an embedded file...) are not decoded, unless a page's `/Contents`, a font's `/ToUnicode`
 * or an XObject name names them: a reader draws what `/Contents` names whatever its dictionary says. A font's
 * `/ToUnicode` CMap may make many characters of one byte (`pdf-content.ts`): such bytes count that many. A stream
 * this cannot decode (another filter, corrupt, past the work) that a page may draw, or a CMap it cannot read,
 * leaves the text unbounded, and nothing more is decoded.
 *
 * The estimate runs on the request thread, so every step is linear in the bytes it reads, and one
 * request's PDFs share one budget of bytes read and inflated (`PdfWork`). Two scans read each file:
 *   - a tokenizer that knows strings (nested, escaped), comments, dictionaries and streams (skipped by
 *     their `/Length`, or up to `endstream`), and reads each dictionary's `/Type`, `/Count` and stream keys;
 *   - a blind scan of every `/Type` name and the name after it, and every `/XObject` and `/ToUnicode` name,
 *     wherever it is (in a string, a comment, stream data). It sees at least what the tokenizer sees; when it
 *     sees more page tree nodes or object streams than the tokenizer read, the tokenizer may have been misled
 *     (a string or a stream's end in the wrong place) and pages may be hidden; more `/XObject` or `/ToUnicode`
 *     names, a resource or a font the text depends on may be. Its `/Type /Page`s count as pages: more, never fewer.
 * A hand-made file can still mislead a scan like this one; it errs towards more pages.
 */
import { constants, inflateSync } from 'node:zlib'
import { byteWeights, drawsIn, readCmap, weightedSize } from './pdf-content'
import { type Decoded, drawnText } from './pdf-forms'
import { CLASS, CR, DELIMITER, HASH, hexValue, LF, nameText, PERCENT, REGULAR, SLASH, SPACE } from './pdf-syntax'

/**
 * The work one request's PDFs may take together, in bytes read: a byte of a file, or of an object stream
 * once inflated, is 1; a byte inflated 4 more (zlib is slower than the scans); a token (a name, a number,
 * a string...) 32; a call to zlib 4,096 (~3 µs however little it inflates); a stream decoded 256 (kept by
 * number, its forms followed), each `Do` in it 256 (its name looked up), and each name an `/XObject`
 * dictionary defines 256; a byte of a CMap, or of a stream weighed by one, 2 more. About a tenth of a second
 * at most. Past it pages and text may be hidden, and the rest of the request's PDFs count the caller's
 * `unreadable` unread, their text unbounded: the caller holds them as it holds a file it cannot see (the most
 * pages a provider takes in one request, or the context window).
 */
const REQUEST_PDF_WORK = 64 * 1024 * 1024
const INFLATE_COST = 4
const INFLATE_CALL_COST = 4096
const TOKEN_COST = 32
const SCAN_COST = 2
const DRAW_COST = 256
const STREAM_COST = 256
const NAME_COST = 256
/** What is left of a request's `REQUEST_PDF_WORK`, one per request, shared by all its PDFs, and the zlib calls made. */
export interface PdfWork {
  left: number
  inflates: number
}
export const pdfWork = (): PdfWork => ({ left: REQUEST_PDF_WORK, inflates: 0 })

/** A `/Count` is read up to this: far past any real PDF. */
const MAX_COUNT = 10_000_000
/** Dictionaries and arrays nest deeper than this in no real PDF: deeper is unreadable. */
const MAX_DEPTH = 64
/** The longest name of interest (`FlateDecode`) and a margin: longer names are read, never kept. */
const MAX_NAME = 16

const PLUS = 43
const ZERO = 48
const NINE = 57

/** Names of interest, by id (0: any other name). */
const NAMES = [
  '', 'Type', 'Page', 'Pages', 'ObjStm', 'Count', 'Length', 'Filter', 'FlateDecode', 'Predictor', 'Kids', 'Contents', 'First',
  'Subtype', 'Form', 'Image', 'Type1C', 'CIDFontType0C', 'OpenType', 'Length1', 'Length2', 'Length3', 'XRef', 'Metadata', 'EmbeddedFile',
  'XObject', 'ToUnicode',
] as const
const TYPE = 1
const PAGE = 2
const PAGES = 3
const OBJSTM = 4
const COUNT = 5
const LENGTH = 6
const FILTER = 7
const FLATE = 8
const PREDICTOR = 9
const KIDS = 10
const CONTENTS = 11
const FIRST = 12
const SUBTYPE = 13
const FORM = 14
// Names that declare a stream something a page does not draw: an image, a font program (`/Length1`...), a
// cross-reference stream, metadata, an embedded file.
const IMAGE = 15
const TYPE1C = 16
const CID_FONT_TYPE0C = 17
const OPENTYPE = 18
const LENGTH1 = 19
const LENGTH2 = 20
const LENGTH3 = 21
const XREF = 22
const METADATA = 23
const EMBEDDED_FILE = 24
const XOBJECT = 25
const TO_UNICODE = 26
const NAME_BYTES = NAMES.map((n) => Buffer.from(n, 'latin1'))

/** A stream as the tokenizer found it: its object's number (-1: unknown), its data as filtered, its filter (0 none, 1 Flate alone, 2 other). */
interface Stream {
  obj: number
  data: Buffer
  filter: number
  /** Declared something a page does not draw (an image, a font program...): decoded only if a `/Contents`, a `/ToUnicode` or (but an image) an `/XObject` name names it. */
  aside: boolean
  /** Declared an image: a `Do` of it shows no text. */
  image: boolean
}

/** An object's dictionary as the page tree walk needs it: its `/Kids` and its `/Contents`, as object numbers. */
interface TreeObject {
  kids: number[] | null
  contents: number[] | null
}

interface Tally {
  /** `/Type /Page` entries of dictionaries the tokenizer read. */
  pages: number
  /** The largest direct `/Count` of a page tree node. */
  count: number
  /** Page tree nodes and object streams the tokenizer read. */
  nodes: number
  objStms: number
  /** What the blind scan saw: `/Type /Page`, `/Type /Pages`, `/Type /ObjStm`, and every `/XObject` and `/ToUnicode` name. */
  rawPages: number
  rawNodes: number
  rawObjStms: number
  rawXObjects: number
  rawToUnicodes: number
  hidden: boolean
  /** Streams the tokenizer read, and the objects with `/Kids` or `/Contents` by number (each of its definitions). */
  streams: Stream[]
  objects: Map<number, TreeObject[]>
  /** Where a walk of the page tree starts: every `/Pages` reference (the catalog's) and every `/Type /Pages` object. */
  roots: number[]
  /** Page tree nodes of unknown number, keyed -2, -3... in `objects` (-1 is the streams of unknown number). */
  unnumbered: number
  /** Every object a `/Contents` names, wherever. */
  contents: number[]
  /** The text may be hidden though the pages are not: a stream a page may draw could not be decoded, or found. */
  textHidden: boolean
  /** `/XObject` and `/ToUnicode` names the tokenizer read (keys or values). */
  xobjects: number
  toUnicodes: number
  /** The objects each XObject name means in the `/XObject` dictionaries written in place. */
  xobjectNames: Map<string, number[]>
  /** `/XObject` dictionaries by reference, and every object that is a dictionary of references only (one may be such a dictionary), by number. */
  xobjectDicts: number[]
  refDicts: Map<number, Array<{ bytes: Buffer; refs: number[] }>>
  /** An `/XObject` whose value is neither a dictionary nor a reference: what it names cannot be told. */
  xobjectUnread: boolean
  /** Every object a `/ToUnicode` names: a font's CMap from codes to text. */
  toUnicode: number[]
}

/** A PDF's pages and the text they may show, as the estimate holds them. */
export interface PdfRead {
  pages: number
  /**
   * Bytes of text the pages may show: the decoded bytes of the streams a page may draw, a page's own each time it
   * is listed, a form's each time it is drawn; a byte a font's `/ToUnicode` makes more characters of counts those.
   */
  text: number
  /** Whether `text` bounds that text: not when a stream a page may draw was left unread, or the file could hide one. */
  textBounded: boolean
}

/** The pages a PDF counts, at least `unreadable` when any may be hidden. */
export const pdfPages = (pdf: Buffer, unreadable: number, work: PdfWork = pdfWork()): number => readPdf(pdf, unreadable, work).pages

export function readPdf(pdf: Buffer, unreadable: number, work: PdfWork = pdfWork()): PdfRead {
  if (pdf.length > work.left) return { pages: unreadable, text: 0, textBounded: false }
  work.left -= pdf.length
  const t: Tally = {
    pages: 0, count: 0, nodes: 0, objStms: 0, rawPages: 0, rawNodes: 0, rawObjStms: 0, rawXObjects: 0, rawToUnicodes: 0, hidden: false,
    streams: [], objects: new Map(), roots: [], unnumbered: 0, contents: [], textHidden: false,
    xobjects: 0, toUnicodes: 0, xobjectNames: new Map(), xobjectDicts: [], refDicts: new Map(), xobjectUnread: false, toUnicode: [],
  }
  blindScan(pdf, t, work)
  tokenize(pdf, t, work, null)
  if (t.rawNodes > t.nodes || t.rawObjStms > t.objStms) t.hidden = true
  // A stream the tokenizer did not read as one (inside what it took for a string) may still be drawn by a reader;
  // a font whose `/ToUnicode` it did not read may map a code to any text.
  if (occurrences(pdf, ENDSTREAM) > t.streams.length || t.rawToUnicodes > t.toUnicodes) t.textHidden = true
  const names = xobjectNames(t, work)
  const decoded = decodeStreams(t, names, work)
  const drawn = drawnText(decoded.streams, names, decoded.images)
  if (!drawn.bounded) t.textHidden = true
  const tree = walkTree(t, drawn.text)
  const found = Math.max(t.pages, t.rawPages, t.count, tree.pages)
  const pages = found === 0 || t.hidden ? Math.max(found, unreadable) : found
  return { pages, text: Math.ceil(pageText(drawn.text, new Set(t.contents), tree.text)), textBounded: !t.hidden && !t.textHidden }
}

/** Where the name read last by `readName` ended. */
let nameEnd = 0
const scratch = Buffer.alloc(MAX_NAME)

/** The id of the name whose text starts at `i` (after its `/`), `#xx` escapes decoded; sets `nameEnd`. */
function readName(b: Buffer, i: number): number {
  const end = b.length
  let n = 0
  while (i < end && CLASS[b[i]!] === REGULAR) {
    let c = b[i]!
    if (c === HASH && i + 2 < end && hexValue(b[i + 1]!) >= 0 && hexValue(b[i + 2]!) >= 0) {
      c = hexValue(b[i + 1]!) * 16 + hexValue(b[i + 2]!)
      i += 3
    } else i++
    if (n < MAX_NAME) scratch[n] = c
    n++
  }
  nameEnd = i
  if (n > MAX_NAME) return 0
  for (let id = 1; id < NAME_BYTES.length; id++) {
    const want = NAME_BYTES[id]!
    if (want.length !== n) continue
    let k = 0
    while (k < n && scratch[k] === want[k]) k++
    if (k === n) return id
  }
  return 0
}

/** The first line end (CR or LF) at or after `i`, or the end. */
function lineEnd(b: Buffer, i: number): number {
  const end = b.length
  while (i < end && b[i] !== LF && b[i] !== CR) i++
  return i
}

/**
 * Every `/Type` name and the name after it (across white-space and comments), and every `/XObject` and `/ToUnicode`
 * name, wherever they are. Linear:
 * a comment's line end is found once for all the names on its line, and white-space and comments already
 * crossed from an earlier `/Type` are crossed again in one step (from any line end in them, the walk is
 * the same as before).
 */
function blindScan(b: Buffer, t: Tally, work: PdfWork): void {
  const end = b.length
  let crossedFrom = -1
  let crossedTo = -1
  let lineFrom = -1
  let lineTo = -1
  let i = 0
  for (;;) {
    i = b.indexOf(SLASH, i)
    if (i < 0) return
    if ((work.left -= TOKEN_COST) < 0) {
      t.hidden = true
      return
    }
    // Not `/Type`, `/ToUnicode` nor `/XObject` (nor `/#54ype`...): on to the next name.
    if (b[i + 1] !== 84 && b[i + 1] !== 88 && b[i + 1] !== HASH) {
      i++
      continue
    }
    const key = readName(b, i + 1)
    i = nameEnd
    if (key === XOBJECT) t.rawXObjects++
    else if (key === TO_UNICODE) t.rawToUnicodes++
    if (key !== TYPE) continue
    let j = i
    while (j < end) {
      const c = b[j]!
      if (c === LF || c === CR) {
        if (j >= crossedFrom && j < crossedTo) {
          j = crossedTo
          break
        }
        j++
      } else if (CLASS[c] === SPACE) j++
      else if (c === PERCENT) {
        if (j < lineFrom || j > lineTo) {
          lineFrom = j
          lineTo = lineEnd(b, j)
        }
        j = lineTo
      } else break
    }
    crossedFrom = i
    crossedTo = j
    if (j >= end || b[j] !== SLASH) continue
    const value = readName(b, j + 1)
    if (value === PAGE) t.rawPages++
    else if (value === PAGES) t.rawNodes++
    else if (value === OBJSTM) t.rawObjStms++
  }
}

/** What the tokenizer knows of a dictionary while it reads it. */
interface Dict {
  dict: true
  /** The key whose value comes next (a name id), or -1 when a key comes next. */
  key: number
  /** Whole numbers read after the key, not yet known to be its value or a reference (`5 0 R`). */
  pending: number
  first: number
  pages: number
  nodes: number
  objStm: boolean
  count: number
  length: number
  /** 0 none, 1 Flate alone, 2 anything else. */
  filter: number
  /** A predictor, or a decode parameter this cannot read, in it or in a dictionary inside it. */
  predictor: boolean
  /** Its stream is declared something a page does not draw; a `/Subtype /Form` is drawn whatever else it says. */
  aside: boolean
  form: boolean
  /** Its `/Kids` and `/Contents` references (object numbers); `/Kids` by reference to an array this does not follow. */
  kids: number[] | null
  kidsByReference: boolean
  contents: number[] | null
  /** An object stream's `/First`: where its objects start, after the header of their numbers and offsets. */
  objectsAt: number
  image: boolean
  /** Where its current key's name is written (after the `/`). */
  keyFrom: number
  keyTo: number
  /**
   * Its entries whose value is a reference, as triples (key from, key to, object), kept for an `/XObject` dictionary
   * (`names`: each key an XObject's name) and for an object's dictionary while every value is a reference (`plain`:
   * one such may be an `/XObject` dictionary by reference).
   */
  refs: number[] | null
  names: boolean
  plain: boolean
}
interface List {
  dict: false
  /** Its first value's name id, and how many values it holds: all names (a `/Filter` array) or not. */
  first: number
  size: number
  names: boolean
  predictor: boolean
  /** The object numbers of its references (`5 0 R`), kept for a `/Kids` or `/Contents` array; the two whole numbers read last. */
  refs: number[] | null
  ints: number
  before: number
  last: number
}

// Kinds of value.
const NAME = 0
const INT = 1
const OTHER = 2
const REF = 3
const DICT = 4
const LIST = 5

const newDict = (top: boolean, names: boolean): Dict => ({
  dict: true, key: -1, pending: 0, first: 0, pages: 0, nodes: 0, objStm: false, count: 0, length: -1, filter: 0, predictor: false,
  aside: false, form: false, kids: null, kidsByReference: false, contents: null, objectsAt: -1, image: false,
  keyFrom: 0, keyTo: 0, refs: null, names, plain: top,
})
const newList = (refs: boolean): List => ({ dict: false, first: 0, size: 0, names: true, predictor: false, refs: refs ? [] : null, ints: 0, before: 0, last: 0 })

/** Whether `word` is at `i`. */
function bytesAt(b: Buffer, i: number, word: Buffer): boolean {
  if (i + word.length > b.length) return false
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false
  return true
}
const STREAM = Buffer.from('stream')
const ENDSTREAM = Buffer.from('endstream')
const ENDOBJ = Buffer.from('endobj')
const OBJ = Buffer.from('obj')

function occurrences(b: Buffer, word: Buffer): number {
  let n = 0
  for (let i = b.indexOf(word); i >= 0; i = b.indexOf(word, i + word.length)) n++
  return n
}

/** Where each object of an object stream starts (`/First` plus its offset), with its number, in order; null when the header does not read as pairs of whole numbers. */
function objectStarts(content: Buffer, first: number): Array<{ at: number; obj: number }> | null {
  if (first < 0 || first > content.length) return null
  const ints = content.subarray(0, first).toString('latin1').trim().split(/[\0\t\n\f\r ]+/)
  if (ints.length % 2 !== 0 || !ints.every((n) => /^\d{1,15}$/.test(n))) return ints.length === 1 && ints[0] === '' ? [] : null
  const starts: Array<{ at: number; obj: number }> = []
  for (let k = 0; k < ints.length; k += 2) starts.push({ obj: Number(ints[k]), at: first + Number(ints[k + 1]) })
  return starts.sort((a, b) => a.at - b.at)
}

/**
 * Reads `b` token by token: strings, comments, names, numbers, dictionaries and arrays, and the data of
 * each stream skipped whole. What it cannot read with confidence (an unclosed string, a dictionary whose
 * keys and values do not pair, brackets that do not match, `stream` after anything but a dictionary, a
 * stream with no end) marks the file hidden. Objects are numbered as `5 0 obj` says in the file, and as an
 * object stream's header says in one (`objects`, null for the file itself).
 */
function tokenize(b: Buffer, t: Tally, work: PdfWork, objects: Array<{ at: number; obj: number }> | null): void {
  const end = b.length
  const inObjStm = objects !== null
  const stack: Array<Dict | List> = []
  let lastTop: Dict | null = null
  // The number of the object being read (-1: unknown), and the whole numbers read last at the top level (`5 0` before `obj`).
  let obj = -1
  let before = -1
  let last = -1
  let nextObject = 0
  // Where the name read last is written (after its `/`).
  let nameFrom = 0
  let nameTo = 0
  const objectAt = (i: number): number => {
    if (objects === null) return obj
    while (nextObject < objects.length && objects[nextObject]!.at <= i) nextObject++
    return nextObject > 0 ? objects[nextObject - 1]!.obj : -1
  }

  const put = (kind: number, n: number, sub: Dict | List | null): void => {
    if (kind === NAME && n === XOBJECT) t.xobjects++
    else if (kind === NAME && n === TO_UNICODE) t.toUnicodes++
    const into = stack[stack.length - 1]
    if (!into) {
      lastTop = kind === DICT ? (sub as Dict) : null
      before = kind === INT ? last : -1
      last = kind === INT ? n : -1
      return
    }
    if (!into.dict) {
      if (into.size++ === 0) into.first = n
      if (kind !== NAME) into.names = false
      if (sub?.predictor) into.predictor = true
      if (into.refs) {
        if (kind === OTHER && n === REF && into.ints >= 2) into.refs.push(into.before)
        into.ints = kind === INT ? into.ints + 1 : 0
        into.before = into.last
        into.last = n
      }
      return
    }
    entry(into, kind, n, sub)
  }

  const entry = (d: Dict, kind: number, n: number, sub: Dict | List | null): void => {
    if (d.key === -1) {
      if (kind === NAME) {
        d.key = n
        d.keyFrom = nameFrom
        d.keyTo = nameTo
      } else t.hidden = true
      return
    }
    if (kind === INT && d.pending < 2) {
      if (d.pending++ === 0) d.first = n
      return
    }
    if (d.pending === 2 && kind === OTHER && n === REF) {
      assign(d, REF, 0, null)
      return
    }
    if (d.pending === 1) {
      assign(d, INT, d.first, null)
      entry(d, kind, n, sub)
      return
    }
    if (d.pending === 2) {
      t.hidden = true
      d.pending = 0
      d.key = -1
      entry(d, kind, n, sub)
      return
    }
    assign(d, kind, n, sub)
  }

  const assign = (d: Dict, kind: number, n: number, sub: Dict | List | null): void => {
    // A reference's object number is the first of the two whole numbers before `R`.
    const ref = kind === REF ? d.first : -1
    if (d.names || d.plain) {
      if (kind === REF) (d.refs ??= []).push(d.keyFrom, d.keyTo, ref)
      else if (!d.names) {
        d.plain = false
        d.refs = null
      }
    }
    switch (d.key) {
      case TYPE:
        if (kind === REF) t.hidden = true
        else if (kind === NAME && n === PAGE) d.pages++
        else if (kind === NAME && n === PAGES) d.nodes++
        else if (kind === NAME && n === OBJSTM) d.objStm = true
        else if (kind === NAME && (n === XREF || n === METADATA || n === EMBEDDED_FILE)) d.aside = true
        break
      case SUBTYPE:
        if (kind === NAME && n === FORM) d.form = true
        else if (kind === NAME && (n === IMAGE || n === TYPE1C || n === CID_FONT_TYPE0C || n === OPENTYPE)) d.aside = true
        if (kind === NAME && n === IMAGE) d.image = true
        break
      case LENGTH1:
      case LENGTH2:
      case LENGTH3:
        d.aside = true
        break
      case KIDS:
        if (kind === REF) d.kidsByReference = true
        else if (kind === LIST) d.kids = (sub as List).refs
        break
      case CONTENTS:
        if (kind === REF) d.contents = [ref]
        else if (kind === LIST) d.contents = (sub as List).refs
        break
      case PAGES:
        if (kind === REF) t.roots.push(ref)
        break
      case FIRST:
        if (kind === INT) d.objectsAt = n
        break
      case COUNT:
        if (kind === INT) d.count = Math.max(d.count, Math.min(n, MAX_COUNT))
        break
      case LENGTH:
        d.length = kind === INT ? n : -1
        break
      case FILTER: {
        const l = kind === LIST ? (sub as List) : null
        if (l?.size === 0) d.filter = 0
        else d.filter = (kind === NAME && n === FLATE) || (l && l.names && l.size === 1 && l.first === FLATE) ? 1 : 2
        break
      }
      case PREDICTOR:
        if (kind !== INT || n > 1) d.predictor = true
        break
      case XOBJECT:
        if (kind === REF) t.xobjectDicts.push(ref)
        else if (kind !== DICT) t.xobjectUnread = true
        break
      case TO_UNICODE:
        if (kind === REF) t.toUnicode.push(ref)
        break
    }
    if (sub?.predictor) d.predictor = true
    d.key = -1
    d.pending = 0
  }

  const close = (d: Dict, topLevel: boolean): void => {
    if (d.pending === 1) assign(d, INT, d.first, null)
    else if (d.pending === 2 || d.key !== -1) t.hidden = true
    t.pages += d.pages
    if (d.nodes > 0) {
      t.nodes += d.nodes
      t.count = Math.max(t.count, d.count)
    }
    for (const ref of d.contents ?? []) t.contents.push(ref)
    if (d.names && d.refs) {
      if ((work.left -= (d.refs.length / 3) * NAME_COST) < 0) t.hidden = true
      else for (let k = 0; k < d.refs.length; k += 3) addName(t.xobjectNames, nameText(b, d.refs[k]!, d.refs[k + 1]!), d.refs[k + 2]!)
    }
    // An empty one is not kept: an `/XObject` by reference to it cannot be told from one to what this did not read.
    else if (topLevel && obj >= 0 && d.plain && d.refs) {
      const definitions = t.refDicts.get(obj)
      const o = { bytes: b, refs: d.refs }
      if (definitions) definitions.push(o)
      else t.refDicts.set(obj, [o])
    }
    // A tree whose `/Kids` is an array elsewhere is not walked: its pages may be hidden.
    if (d.kidsByReference) t.hidden = true
    if (!topLevel || (d.kids === null && d.contents === null && d.nodes === 0)) return
    // An object of unknown number: nothing can name it, but a page tree node there still starts a walk.
    if (obj < 0 && d.nodes === 0) return
    const key = obj >= 0 ? obj : -2 - t.unnumbered++
    if (d.nodes > 0) t.roots.push(key)
    const definitions = t.objects.get(key)
    const o = { kids: d.kids, contents: d.contents }
    if (definitions) definitions.push(o)
    else t.objects.set(key, [o])
  }

  let i = 0
  while (i < end) {
    const c = b[i]!
    const cls = CLASS[c]
    if (cls === SPACE) {
      i++
      continue
    }
    if ((work.left -= TOKEN_COST) < 0) {
      t.hidden = true
      return
    }
    if (cls === DELIMITER) {
      switch (c) {
        case PERCENT:
          i = lineEnd(b, i)
          continue
        case 40: { // (
          let depth = 0
          let j = i
          for (; j < end; j++) {
            const s = b[j]
            if (s === 92) j++ // \: the next byte is escaped
            else if (s === 40) depth++
            else if (s === 41 && --depth === 0) break
          }
          if (j >= end) {
            t.hidden = true
            return
          }
          i = j + 1
          put(OTHER, 0, null)
          continue
        }
        case 60: // <
          if (b[i + 1] === 60) {
            if (stack.length >= MAX_DEPTH) {
              t.hidden = true
              return
            }
            if (stack.length === 0) obj = objectAt(i)
            const into = stack[stack.length - 1]
            stack.push(newDict(stack.length === 0, into?.dict === true && into.pending === 0 && into.key === XOBJECT))
            i += 2
          } else {
            const j = b.indexOf(62, i)
            if (j < 0) {
              t.hidden = true
              return
            }
            i = j + 1
            put(OTHER, 0, null)
          }
          continue
        case 62: { // >
          const d = stack[stack.length - 1]
          if (b[i + 1] !== 62 || !d?.dict) {
            t.hidden = true
            i++
            continue
          }
          i += 2
          stack.pop()
          close(d, stack.length === 0)
          put(DICT, 0, d)
          continue
        }
        case 91: { // [
          if (stack.length >= MAX_DEPTH) {
            t.hidden = true
            return
          }
          const into = stack[stack.length - 1]
          stack.push(newList(into?.dict === true && into.pending === 0 && (into.key === KIDS || into.key === CONTENTS)))
          i++
          continue
        }
        case 93: { // ]
          const l = stack[stack.length - 1]
          i++
          if (!l || l.dict) {
            t.hidden = true
            continue
          }
          stack.pop()
          put(LIST, 0, l)
          continue
        }
        case SLASH:
          nameFrom = i + 1
          const id = readName(b, i + 1)
          i = nameEnd
          nameTo = i
          put(NAME, id, null)
          continue
        default: // { and }: PostScript functions, in streams only
          i++
          continue
      }
    }
    // A regular run: a number or a keyword.
    let j = i
    let digits = true
    let n = 0
    if (b[j] === PLUS) j++
    const from = j
    for (; j < end && CLASS[b[j]!] === REGULAR; j++) {
      const d = b[j]!
      if (d < ZERO || d > NINE) digits = false
      else if (digits && n < 1e15) n = n * 10 + d - ZERO
    }
    const start = i
    i = j
    if (digits && j > from) {
      put(INT, n, null)
      continue
    }
    if (j - start === 1 && b[start] === 82) { // R
      put(OTHER, REF, null)
      continue
    }
    if (j - start === STREAM.length && bytesAt(b, start, STREAM)) {
      const d = lastTop as Dict | null
      if (stack.length > 0 || !d || inObjStm) {
        t.hidden = true
        continue
      }
      i = streamData(b, i, d, obj, t, work)
      if (i < 0) return
      lastTop = null
      continue
    }
    if (j - start === OBJ.length && bytesAt(b, start, OBJ) && stack.length === 0 && !inObjStm) {
      obj = before >= 0 && last >= 0 ? before : -1
      put(OTHER, 0, null)
      continue
    }
    if (j - start === ENDOBJ.length && bytesAt(b, start, ENDOBJ)) {
      if (stack.length > 0) {
        t.hidden = true
        stack.length = 0
      }
      obj = -1
    }
    put(OTHER, 0, null)
  }
  if (stack.length > 0) t.hidden = true
}

/**
 * The data of the stream whose keyword `stream` ends at `i`, object `obj`: where it ends as its `/Length` says
 * when `endstream` follows there, else up to the first `endstream`. Kept for the text count (`decodedSizes`),
 * and read now if it is an object stream. Returns where the tokenizer goes on (after `endstream`), or -1 when
 * the stream has no end.
 */
function streamData(b: Buffer, i: number, d: Dict, obj: number, t: Tally, work: PdfWork): number {
  const end = b.length
  let from = i
  if (b[from] === CR && b[from + 1] === LF) from += 2
  else if (b[from] === LF || b[from] === CR) from++
  let to = -1
  let after = -1
  if (d.length >= 0 && from + d.length <= end) {
    let k = from + d.length
    while (k < end && k < from + d.length + 4 && CLASS[b[k]!] === SPACE) k++
    if (bytesAt(b, k, ENDSTREAM)) {
      to = from + d.length
      after = k + ENDSTREAM.length
    }
  }
  if (to < 0) {
    const k = b.indexOf(ENDSTREAM, from)
    if (k < 0) {
      t.hidden = true
      return -1
    }
    to = k
    if (to > from && b[to - 1] === LF) to--
    if (to > from && b[to - 1] === CR) to--
    after = k + ENDSTREAM.length
  }
  const data = b.subarray(from, to)
  t.streams.push({ obj, data, filter: d.filter, aside: (d.aside || d.objStm) && !d.form, image: d.image })
  if (d.objStm) objectStream(data, d, t, work)
  return after
}

/** An object stream's objects, read as the file's are. Filters but Flate, or a predictor, leave it unread: hidden. */
function objectStream(data: Buffer, d: Dict, t: Tally, work: PdfWork): void {
  if (d.filter === 2 || d.predictor || work.left <= 0) {
    t.hidden = true
    return
  }
  let content: Buffer | null = data
  if (d.filter === 1) {
    content = inflated(data, INFLATE_COST + 1, null, work)
    if (content === null) {
      t.hidden = true
      return
    }
    // Unfiltered, its bytes were in the file's blind scan already.
    blindScan(content, t, work)
  }
  const objects = objectStarts(content, d.objectsAt)
  if (objects === null) t.hidden = true
  tokenize(content, t, work, objects ?? [])
  t.objStms++
}

/**
 * `data` inflated within what is left of the work, each byte charged `cost`, the call `INFLATE_CALL_COST`; null
 * when it cannot be: the work spent, or zlib fails. A failure charges all the output the call was allowed: zlib
 * may fail only after inflating all of it (a wrong checksum is found at the end), and costs tens of µs to throw.
 * `finishFlush` Z_SYNC_FLUSH takes data cut short as far as it inflates, as readers do.
 */
function inflated(data: Buffer, cost: number, finishFlush: number | null, work: PdfWork): Buffer | null {
  const most = Math.floor((work.left - INFLATE_CALL_COST) / cost)
  if (most < 1) return null
  work.left -= INFLATE_CALL_COST
  work.inflates++
  try {
    const out = inflateSync(data, finishFlush === null ? { maxOutputLength: most } : { maxOutputLength: most, finishFlush })
    work.left -= out.length * cost
    return out
  } catch {
    work.left -= most * cost
    return null
  }
}

/** A stream's bytes decoded: unfiltered, or inflated (data cut short counts what it inflates to); null when it cannot be told: another filter, corrupt data, the work spent. */
const decoded = (s: Stream, work: PdfWork): Buffer | null =>
  s.filter === 0 ? s.data : s.filter === 1 ? inflated(s.data, INFLATE_COST, constants.Z_SYNC_FLUSH, work) : null

const addName = (names: Map<string, number[]>, name: string, ref: number): void => {
  const refs = names.get(name)
  if (refs) refs.push(ref)
  else names.set(name, [ref])
}

/**
 * What each XObject name may mean: the `/XObject` dictionaries written in place, and those by reference (an
 * object read as a dictionary of references). Null when one cannot be told: a reference to an object that is not
 * such a dictionary, a value of another kind, or an `/XObject` name the tokenizer did not read (in a string...).
 */
function xobjectNames(t: Tally, work: PdfWork): Map<string, number[]> | null {
  if (t.xobjectUnread || t.rawXObjects > t.xobjects) return null
  for (const ref of new Set(t.xobjectDicts)) {
    const definitions = t.refDicts.get(ref)
    if (!definitions) return null
    for (const { bytes, refs } of definitions) {
      if ((work.left -= (refs.length / 3) * NAME_COST) < 0) return null
      for (let k = 0; k < refs.length; k += 3) addName(t.xobjectNames, nameText(bytes, refs[k]!, refs[k + 1]!), refs[k + 2]!)
    }
  }
  return t.xobjectNames
}

/**
 * Every stream a page may draw, decoded, by object number: its size, each byte at the weight the fonts'
 * `/ToUnicode` CMaps give it (read first), and the forms it draws. All but streams declared something else, and
 * those too when a `/Contents` or a `/ToUnicode` names them, or an `/XObject` name does (but images: a reader draws
 * what a name means whatever its dictionary says, but an image shows no text). One it cannot decode, or a CMap it
 * cannot read, hides the text; once hidden no more is decoded (it would not bound it again).
 */
function decodeStreams(t: Tally, names: ReadonlyMap<string, number[]> | null, work: PdfWork) {
  const streams = new Map<number, Decoded[]>()
  const images = new Set<number>()
  const contents = new Set(t.contents)
  const cmaps = new Set(t.toUnicode)
  const drawn = new Set<number>()
  for (const refs of names?.values() ?? []) for (const ref of refs) drawn.add(ref)
  for (const s of t.streams) if (s.image) images.add(s.obj)
  const weights = byteWeights()
  const cmapData = new Map<Stream, Buffer>()
  const cmapsRead = new Set<number>()
  for (const s of t.streams) {
    if (t.hidden || t.textHidden) break
    if (!cmaps.has(s.obj)) continue
    const content = decoded(s, work)
    if (content === null || (work.left -= content.length * SCAN_COST) < 0 || !readCmap(content, weights)) {
      t.textHidden = true
      break
    }
    cmapData.set(s, content)
    cmapsRead.add(s.obj)
  }
  // A `/ToUnicode` naming no stream read here (one the tokenizer missed) may map a code to anything.
  for (const cmap of cmaps) if (!cmapsRead.has(cmap)) t.textHidden = true
  const weighted = weights.some((w) => w > 1)
  for (const s of t.streams) {
    if (t.hidden || t.textHidden) break
    if (s.aside && !contents.has(s.obj) && !cmaps.has(s.obj) && !(drawn.has(s.obj) && !s.image)) continue
    if ((work.left -= STREAM_COST) < 0) {
      t.textHidden = true
      break
    }
    const content = (cmaps.has(s.obj) ? cmapData.get(s) : undefined) ?? decoded(s, work)
    if (content === null) {
      t.textHidden = true
      break
    }
    if (weighted && (work.left -= content.length * SCAN_COST) < 0) {
      t.textHidden = true
      break
    }
    const draws = drawsIn(content, names, Math.floor(work.left / DRAW_COST))
    if (draws && (work.left -= draws.count * DRAW_COST) < 0) {
      t.textHidden = true
      break
    }
    const size = weighted ? weightedSize(content, weights) : content.length
    const definitions = streams.get(s.obj)
    if (definitions) definitions.push({ size, draws })
    else streams.set(s.obj, [{ size, draws }])
  }
  return { streams, images }
}

/**
 * The pages a reader finds walking the page tree from each of its roots, and the text of their `/Contents`, each
 * page as many times as it is listed: the largest over the roots. A node is an object with `/Kids` (its `/Type`
 * or none: readers walk any), a page any other object; an object defined more than once counts its largest
 * definition. Shared nodes are walked once (their sums kept), so the walk is linear in the references however
 * many pages they make; a node within its own subtree cannot be walked: the pages may be hidden. A `/Contents`
 * naming no stream read here (an array elsewhere) hides the text.
 */
function walkTree(t: Tally, streamText: Map<number, number>): { pages: number; text: number } {
  const done = new Map<number, { pages: number; text: number }>()
  const open = new Set<number>()
  const contentText = (contents: number[] | null): number => {
    let n = 0
    for (const ref of contents ?? []) {
      const size = streamText.get(ref)
      if (size === undefined) t.textHidden = true
      else n += size
    }
    return n
  }
  let best = { pages: 0, text: 0 }
  for (const root of t.roots) {
    const stack = [root]
    while (stack.length > 0) {
      const node = stack[stack.length - 1]!
      if (done.has(node)) {
        stack.pop()
        continue
      }
      const definitions = t.objects.get(node)
      if (!open.has(node)) {
        open.add(node)
        for (const o of definitions ?? [])
          for (const kid of o.kids ?? []) {
            if (open.has(kid) && !done.has(kid)) t.hidden = true
            else if (!done.has(kid)) stack.push(kid)
          }
        continue
      }
      stack.pop()
      let pages = 0
      let text = 0
      if (!definitions) pages = 1
      else
        for (const o of definitions) {
          let p = 0
          let x = 0
          if (o.kids === null) {
            p = 1
            x = contentText(o.contents)
          } else
            for (const kid of o.kids) {
              const sum = done.get(kid)
              p += sum?.pages ?? 0
              x += sum?.text ?? 0
            }
          pages = Math.max(pages, Math.min(p, MAX_COUNT))
          text = Math.max(text, Math.min(x, Number.MAX_SAFE_INTEGER))
        }
      done.set(node, { pages, text })
    }
    const sum = done.get(root)!
    best = { pages: Math.max(best.pages, sum.pages), text: Math.max(best.text, sum.text) }
  }
  return best
}

/**
 * The text a PDF's pages may show: every stream a page may draw that no `/Contents` names (a form; a stream of
 * unknown use) once, and the content of the pages, the larger of each stream `/Contents` names once and the pages
 * as the tree lists them. Each counts with the forms it draws (`streamText`), so a form counts once more each time
 * it is drawn.
 */
function pageText(streamText: Map<number, number>, contents: ReadonlySet<number>, treeText: number): number {
  let other = 0
  let pages = 0
  for (const [obj, size] of streamText) {
    if (contents.has(obj)) pages += size
    else other += size
  }
  return Math.min(other + Math.max(pages, treeText), Number.MAX_SAFE_INTEGER)
}

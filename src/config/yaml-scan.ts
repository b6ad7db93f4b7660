/**
 * What Bun.YAML.parse (the parser the SPEC names) does not tell of a YAML text: keys written twice in one mapping,
 * and how each plain scalar was written.
 *
 * Keys written twice: YAML 1.2 makes a mapping's keys unique, but Bun.YAML.parse keeps the last one silently, with
 * no strict mode: a model priced at $2.50 and, further down, at $0.25 would be served at the second price.
 *
 * Plain scalars as written: Bun.YAML.parse reads `0x1F90`, `1e3`, `0o17`, `+80` and `.inf` as numbers, and the
 * number alone no longer says it was written so (see numberSpellingProblems in load.ts).
 *
 * Meant for a text Bun.YAML.parse has taken, so only valid YAML needs reading: block collections by their
 * indentation, flow collections (`{a: 1}`, `[…]`) by their brackets, past comments, anchors and tags, and over
 * quoted and block scalars (whose lines are text, never keys), and explicit block keys (`? key` and `: value`, as
 * PyYAML writes a key over 128 characters) whose key is a scalar on its `?` line. A key is named as Bun names the
 * property it becomes (`"a"`, `'a'` and `a` are one key). Keys a merge (`<<: *base`) brings in are not written keys,
 * so overriding one is no duplicate. Anything else this scan does not follow (an explicit key in a flow collection,
 * a collection as a key) ends it, and `notFollowed` names its line: what it found until there is not the whole file.
 */

/** Where a key is, as zod names a setting: mapping keys, and sequence items by their index. */
export type KeyPath = (string | number)[]

interface DuplicateKey {
  path: KeyPath
  /** The 1-based lines of the first writing and of this one. */
  lines: [first: number, again: number]
}

interface MappingFrame {
  kind: 'mapping'
  indent: number
  path: KeyPath
  keys: Map<string, number>
  last?: string
  /** `last` was written as an explicit key (`? key`): a `:` line at this indentation gives its value. */
  explicitKey?: boolean
}

interface SequenceFrame {
  kind: 'sequence'
  indent: number
  path: KeyPath
  items: number
}

type Frame = MappingFrame | SequenceFrame

/** A plain (unquoted) scalar value and its text as written, where it is: a one-line value, its comment left out. */
export interface PlainScalar {
  path: KeyPath
  text: string
}

/** A construct the scan does not follow: it stops there. */
class NotFollowed extends Error {}

const BLANK = new Set([' ', '\t', '\r', '\n'])
const FLOW_INDICATORS = new Set([',', '[', ']', '{', '}'])
const BLOCK_SCALAR_HEADER = /^[|>][0-9+-]*([ \t]+#.*)?[ \t]*$/

export const duplicateKeys = (text: string): DuplicateKey[] => scanYaml(text).duplicates

interface YamlScan {
  duplicates: DuplicateKey[]
  plainScalars: PlainScalar[]
  /** The 1-based line of a construct the scan does not follow, where it stopped; undefined when it read the whole text. */
  notFollowed?: number
}

export function scanYaml(text: string): YamlScan {
  const found: DuplicateKey[] = []
  const plainScalars: PlainScalar[] = []
  /** A scalar from `start` to `end` noted when plain: not quoted, nor an alias (its anchor's node is noted where it is). */
  const notePlain = (path: KeyPath, start: number, end: number) => {
    const written = text.slice(start, end).trim()
    if (written !== '' && !'"\'*'.includes(written[0]!)) plainScalars.push({ path, text: written })
  }
  const lineStarts = [0]
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1)

  const lineOf = (offset: number): number => {
    let low = 0
    let high = lineStarts.length - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (lineStarts[mid]! <= offset) low = mid
      else high = mid - 1
    }
    return low + 1
  }
  const lineAfter = (offset: number): number => {
    const newline = text.indexOf('\n', offset)
    return newline < 0 ? text.length : newline + 1
  }

  const note = (keys: Map<string, number>, path: KeyPath, key: string, line: number) => {
    const first = keys.get(key)
    if (first === undefined) keys.set(key, line)
    else found.push({ path: [...path, key], lines: [first, line] })
  }

  /** The offset just past the quoted scalar opening at `start` (it may span lines). */
  const quotedEnd = (start: number): number => {
    const quote = text[start]
    for (let i = start + 1; i < text.length; i++) {
      if (quote === '"' && text[i] === '\\') i++
      else if (text[i] === quote) {
        if (quote === "'" && text[i + 1] === "'") i++
        else return i + 1
      }
    }
    throw new NotFollowed()
  }

  /** Past anchors (`&a`) and tags (`!!str`) and the blanks after them, on one line. */
  const afterProperties = (offset: number): number => {
    let i = offset
    while (text[i] === '&' || text[i] === '!') {
      while (i < text.length && !BLANK.has(text[i]!)) i++
      while (text[i] === ' ' || text[i] === '\t') i++
    }
    return i
  }

  /** Past blanks, line breaks and comments (a `#` after a blank), inside a flow collection. */
  const skipBlank = (offset: number): number => {
    let i = offset
    for (;;) {
      if (BLANK.has(text[i]!)) i++
      else if (text[i] === '#' && (i === 0 || BLANK.has(text[i - 1]!))) i = lineAfter(i)
      else return i
    }
  }

  const flowPlainEnd = (offset: number): number => {
    let i = offset
    for (; i < text.length; i++) {
      const c = text[i]!
      if (FLOW_INDICATORS.has(c)) break
      if (c === ':' && (i + 1 === text.length || BLANK.has(text[i + 1]!) || FLOW_INDICATORS.has(text[i + 1]!))) break
      if (c === '#' && BLANK.has(text[i - 1]!)) break
    }
    return i
  }

  /** A flow node (scalar or collection) from `offset`: the offset just past it. */
  const flowNode = (offset: number, path: KeyPath): number => {
    if (text[offset] === '{' || text[offset] === '[') return flowCollection(offset, path)
    if (text[offset] === '"' || text[offset] === "'") return quotedEnd(offset)
    return flowPlainEnd(offset)
  }

  /** The flow collection opening at `start`, its mappings' keys noted: the offset just past its closing bracket. */
  const flowCollection = (start: number, path: KeyPath): number => {
    const close = text[start] === '{' ? '}' : ']'
    const keys = close === '}' ? new Map<string, number>() : null
    let i = start + 1
    for (let item = 0; ; item++) {
      i = skipBlank(i)
      if (text[i] === close) return i + 1
      if (text[i] === '?' && BLANK.has(text[i + 1] ?? ' ')) throw new NotFollowed()
      const nodeStart = afterProperties(i)
      const scalar = text[nodeStart] !== '{' && text[nodeStart] !== '['
      // In a sequence an entry is an item; in a mapping, a node before `:` (or alone) is a key.
      i = flowNode(nodeStart, keys ? path : [...path, item])
      const nodeEnd = i
      const key = scalar ? text.slice(nodeStart, i).trim() : null
      // After a quoted scalar or a collection (JSON-like), `:` is the value indicator even with no blank after it.
      const jsonLike = !scalar || text[nodeStart] === '"' || text[nodeStart] === "'"
      i = skipBlank(i)
      const pair = text[i] === ':' && (jsonLike || i + 1 === text.length || BLANK.has(text[i + 1]!) || FLOW_INDICATORS.has(text[i + 1]!))
      let valuePath: KeyPath = [...path, item]
      if (keys && key !== null && key !== '') {
        const name = propertyName(`{${key}: 0}`, key)
        note(keys, path, name, lineOf(nodeStart))
        valuePath = [...path, name]
      }
      if (!keys && !pair && scalar) notePlain(valuePath, nodeStart, nodeEnd)
      if (pair) {
        i = skipBlank(i + 1)
        if (text[i] !== ',' && text[i] !== close) {
          const valueStart = afterProperties(i)
          i = flowNode(valueStart, valuePath)
          if (text[valueStart] !== '{' && text[valueStart] !== '[') notePlain(valuePath, valueStart, i)
          i = skipBlank(i)
        }
      }
      if (text[i] === ',') i++
      else if (text[i] === close) return i + 1
      else throw new NotFollowed()
    }
  }

  const frames: Frame[] = []
  const top = () => frames.at(-1)
  const childPath = (frame: Frame | undefined): KeyPath =>
    frame === undefined ? [] : frame.kind === 'mapping' ? [...frame.path, frame.last ?? ''] : [...frame.path, frame.items]

  const sequenceItem = (indent: number) => {
    while ((top()?.indent ?? -1) > indent) frames.pop()
    const frame = top()
    if (frame?.kind === 'sequence' && frame.indent === indent) frame.items++
    else frames.push({ kind: 'sequence', indent, path: childPath(frame), items: 0 })
  }

  const mappingAt = (indent: number): MappingFrame => {
    // A sequence at a key's own indentation is the value of the key before it (`key:\n- a`): it ends here.
    for (let f = top(); f && (f.indent > indent || (f.kind === 'sequence' && f.indent === indent)); f = top()) frames.pop()
    const frame = top()
    if (frame?.kind === 'mapping' && frame.indent === indent) return frame
    const mapping: MappingFrame = { kind: 'mapping', indent, path: childPath(frame), keys: new Map() }
    frames.push(mapping)
    return mapping
  }

  /** A key at `offset` on a line ending at `lineEnd`: its text and where its value starts, or null when the node is no key. */
  const implicitKey = (offset: number, lineEnd: number): { token: string; valueAt: number } | null => {
    const c = text[offset]
    if (c === '"' || c === "'") {
      const end = quotedEnd(offset)
      if (end > lineEnd) return null
      let i = end
      while (text[i] === ' ' || text[i] === '\t') i++
      return text[i] === ':' ? { token: text.slice(offset, end), valueAt: i + 1 } : null
    }
    if (c === undefined || '{[*|>'.includes(c)) return null
    for (let i = offset; i < lineEnd; i++) {
      if (text[i] === '#' && BLANK.has(text[i - 1]!)) return null
      if (text[i] === ':' && (i + 1 === lineEnd || text[i + 1] === ' ' || text[i + 1] === '\t'))
        return { token: text.slice(offset, i).trimEnd(), valueAt: i + 1 }
    }
    return null
  }

  // Lines more indented than this continue a scalar already begun (plain, quoted or block): text, never keys.
  let continuedDeeperThan: number | null = null

  /** A node in block context at `offset` (its collection indented `parent`): where the scan resumes. */
  const blockValue = (offset: number, lineEnd: number, parent: number): number => {
    let i = offset
    while (text[i] === ' ' || text[i] === '\t') i++
    i = afterProperties(i)
    const rest = text.slice(i, lineEnd)
    // Nothing but properties or a comment: the node is on the lines below.
    if (rest === '' || rest.startsWith('#')) return lineAfter(lineEnd)
    continuedDeeperThan = parent
    if (BLOCK_SCALAR_HEADER.test(rest)) return lineAfter(lineEnd)
    if (rest[0] === '"' || rest[0] === "'") return lineAfter(quotedEnd(i))
    if (rest[0] === '{' || rest[0] === '[') return lineAfter(flowCollection(i, childPath(top())))
    notePlain(childPath(top()), i, i + withoutComment(rest).length)
    return lineAfter(lineEnd)
  }

  const nextLine = /\n( *)[^\s#]/g

  /**
   * The scalar key on the line of a `?` at `column` (a key indented `column`), from `offset`: its text, or
   * NotFollowed for a key the scan does not read (a collection, an alias, a key going on over more lines).
   */
  const explicitKeyToken = (offset: number, lineEnd: number, column: number): string => {
    const c = text[offset]
    let end: number
    if (c === '"' || c === "'") {
      end = quotedEnd(offset)
      if (end > lineEnd || !/^[ \t]*(#.*)?$/.test(text.slice(end, lineEnd))) throw new NotFollowed()
    } else {
      const written = withoutComment(text.slice(offset, lineEnd)).trimEnd()
      const indicator = c !== undefined && '-?:'.includes(c) && BLANK.has(text[offset + 1] ?? ' ')
      if (written === '' || '[{*|>#'.includes(c!) || indicator || /:([ \t]|$)/.test(written)) throw new NotFollowed()
      end = offset + written.length
    }
    // A plain key may go on over the more indented lines below: its text is then not this line's.
    nextLine.lastIndex = lineEnd
    const next = nextLine.exec(text)
    if (next && next[1]!.length > column) throw new NotFollowed()
    return text.slice(offset, end)
  }

  const blockLine = (lineStart: number, lineEnd: number, indent: number): number => {
    let i = lineStart + indent
    let inItem = false
    // The value of an explicit key: a node after the `:`, on this line (as after `- `) or the lines below.
    if (text[i] === ':' && (i + 1 === lineEnd || BLANK.has(text[i + 1]!))) {
      const mapping = top()
      if (mapping?.kind !== 'mapping' || mapping.indent !== indent || !mapping.explicitKey) throw new NotFollowed()
      mapping.explicitKey = false
      inItem = true
      i++
      while (text[i] === ' ' || text[i] === '\t') i++
    }
    while (text[i] === '-' && (i + 1 === lineEnd || text[i + 1] === ' ' || text[i + 1] === '\t')) {
      sequenceItem(i - lineStart)
      inItem = true
      i++
      while (text[i] === ' ' || text[i] === '\t') i++
    }
    const nodeColumn = i - lineStart
    const at = afterProperties(i)
    if (at >= lineEnd || text[at] === '#') return lineAfter(lineEnd)
    if (text[at] === '?' && at === i && (at + 1 === lineEnd || BLANK.has(text[at + 1]!))) {
      let keyAt = at + 1
      while (text[keyAt] === ' ' || text[keyAt] === '\t') keyAt++
      const token = explicitKeyToken(afterProperties(keyAt), lineEnd, nodeColumn)
      const mapping = mappingAt(nodeColumn)
      const name = propertyName(`? ${token}\n: 0`, token)
      note(mapping.keys, mapping.path, name, lineOf(at))
      mapping.last = name
      mapping.explicitKey = true
      return lineAfter(lineEnd)
    }
    if ((text[at] === '?' || text[at] === ':') && (at + 1 === lineEnd || BLANK.has(text[at + 1]!))) throw new NotFollowed()
    const key = implicitKey(at, lineEnd)
    if (key) {
      const mapping = mappingAt(nodeColumn)
      const name = propertyName(`${key.token}: 0`, key.token)
      note(mapping.keys, mapping.path, name, lineOf(at))
      mapping.last = name
      mapping.explicitKey = false
      return blockValue(key.valueAt, lineEnd, nodeColumn)
    }
    // A node alone on its line is the value of the key or item above it, less indented.
    if (!inItem) while ((top()?.indent ?? -1) >= indent) frames.pop()
    return blockValue(i, lineEnd, top()?.indent ?? -1)
  }

  let lineStart = text.startsWith('\uFEFF') ? 1 : 0
  try {
    while (lineStart < text.length) {
      const newline = text.indexOf('\n', lineStart)
      const lineEnd = newline < 0 ? text.length : text[newline - 1] === '\r' ? newline - 1 : newline
      const line = text.slice(lineStart, lineEnd)
      const indent = /^ */.exec(line)![0].length
      const content = line.slice(indent)
      const blank = content.trim() === ''
      if (continuedDeeperThan !== null && (blank || indent > continuedDeeperThan)) {
        lineStart = lineAfter(lineEnd)
        continue
      }
      continuedDeeperThan = null
      if (blank || content.startsWith('#') || (indent === 0 && frames.length === 0 && content.startsWith('%'))) {
        lineStart = lineAfter(lineEnd)
        continue
      }
      if (indent === 0 && /^(---|\.\.\.)([ \t]|$)/.test(content)) {
        // A document marker, with at most the root's properties (`--- !!map`): the root is on the lines below.
        let after = lineStart + 3
        while (text[after] === ' ' || text[after] === '\t') after++
        if (content.startsWith('---')) after = afterProperties(after)
        if (!/^(#.*)?$/.test(text.slice(after, lineEnd))) throw new NotFollowed()
        frames.length = 0
        lineStart = lineAfter(lineEnd)
        continue
      }
      lineStart = blockLine(lineStart, lineEnd, indent)
    }
  } catch (error) {
    if (!(error instanceof NotFollowed)) throw error
    return { duplicates: found, plainScalars, notFollowed: lineOf(lineStart) }
  }
  return { duplicates: found, plainScalars }
}

/** The property Bun.YAML makes of a key, read from `{key: 0}` or `key: 0`; the key's text when that cannot be read. */
function propertyName(mapping: string, token: string): string {
  try {
    const parsed = Bun.YAML.parse(mapping)
    const names = parsed && typeof parsed === 'object' ? Object.keys(parsed) : []
    return names.length === 1 ? names[0]! : token
  } catch {
    return token
  }
}

/**
 * A line's text before its comment (a `#` after a space or a tab) and the blanks before that. Found by search, not
 * by `/[ \t]+#.*$/`, which tries every blank of a long run (or every `#` of many) to the line's end: quadratic.
 */
function withoutComment(line: string): string {
  const comment = line.search(/[ \t]#/)
  if (comment === -1) return line
  let end = comment
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--
  return line.slice(0, end)
}

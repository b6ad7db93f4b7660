/**
 * The text a stream shows with the forms it draws: its own decoded bytes, and for each `Do` the text of the form
 * it names, as readers extract a Form XObject's text each time it is drawn (300 draws of a form of 4 kB are
 * 1.2 MB). A name is resolved through every `/XObject` resource dictionary of the file at once (the same name may
 * mean another form on another page: the largest of them counts); a `Do` whose name cannot be told counts the
 * largest form any resource dictionary names. Forms drawn by forms are followed, each evaluated once (a form drawn
 * 10 times by a form drawn 10 times is 100 draws, however deep, without recursion); a form that draws itself, or
 * a form's `Do` that cannot be told (the largest form would bound itself), leaves the text unbounded, and so does
 * any `Do` when a resource dictionary could not be read (any stream could be drawn).
 */
import type { Draws } from './pdf-content'

/** One definition of a stream object, decoded: its bytes and the forms it draws. */
export interface Decoded {
  size: number
  draws: Draws | null
}

interface DrawnText {
  /** The text each decoded stream shows with what it draws, by object number (-1: the streams of unknown number, together). */
  text: Map<number, number>
  /** False when it could not be bounded: `text` then holds what was evaluated. */
  bounded: boolean
}

const MAX = Number.MAX_SAFE_INTEGER
const UNKNOWN = -1

/**
 * `streams`: the decoded streams by object number, each definition (an object defined again counts its largest;
 * those of unknown number, -1, their sum). `names`: the objects each XObject name may mean, null when a resource
 * dictionary could not be read. `images`: image streams, drawn without text. A name may mean an object that is
 * no stream read here: no stream at all, or one of unknown number (-1): it counts those.
 */
export function drawnText(
  streams: ReadonlyMap<number, Decoded[]>,
  names: ReadonlyMap<string, number[]> | null,
  images: ReadonlySet<number>,
): DrawnText {
  // Most streams draw nothing: their text is their size, known now.
  const text = new Map<number, number>()
  let drawing = false
  for (const [obj, definitions] of streams) {
    if (definitions.some((d) => d.draws !== null)) drawing = true
    else text.set(obj, combine(obj, definitions, () => 0)!)
  }
  if (!drawing) return { text, bounded: true }
  if (names === null) return { text, bounded: false }

  // Nodes are numbers: a stream its object's (-1 and up), a name -2 - its index.
  const nameNode = new Map<string, number>()
  const nameRefs: number[][] = []
  for (const [name, refs] of names) {
    nameNode.set(name, -2 - nameRefs.length)
    nameRefs.push(refs)
  }
  const nameText: number[] = []
  const isDone = (node: number) => (node >= UNKNOWN ? text.has(node) : nameText[-2 - node] !== undefined)
  const open = new Set<number>()
  let largest: number | null = null
  const target = (ref: number): number | null => (streams.has(ref) ? ref : images.has(ref) || !streams.has(UNKNOWN) ? null : UNKNOWN)

  /** A name's text: the largest of what it may mean, each evaluated. */
  const nameValue = (k: number): number => {
    let v = 0
    for (const ref of nameRefs[k]!) {
      const t = target(ref)
      if (t !== null) v = Math.max(v, text.get(t)!)
    }
    return v
  }
  /** What one definition draws, what it draws evaluated; null when it needs the largest form, not known yet. */
  const drawsText = (draws: Draws | null): number | null => {
    if (draws === null) return 0
    let x = 0
    let unresolved = draws.unresolved
    for (const [name, count] of draws.names) {
      const node = nameNode.get(name)
      if (node === undefined) unresolved += count
      else x = Math.min(x + count * nameText[-2 - node]!, MAX)
    }
    if (unresolved === 0) return x
    return largest === null ? null : Math.min(x + unresolved * largest, MAX)
  }

  const stack: number[] = []
  /** Pushes a node to evaluate; false when it is being evaluated already: drawn within its own drawing. */
  const push = (node: number): boolean => {
    if (isDone(node)) return true
    if (open.has(node)) return false
    stack.push(node)
    return true
  }
  /** Evaluates `root` and what it draws, depth first without recursion; false when that cannot be bounded. */
  const evaluate = (root: number): boolean => {
    if (!push(root)) return false
    while (stack.length > 0) {
      const node = stack[stack.length - 1]!
      if (isDone(node)) {
        stack.pop()
        continue
      }
      if (!open.has(node)) {
        open.add(node)
        if (node >= UNKNOWN) {
          for (const d of streams.get(node)!)
            for (const name of d.draws?.names.keys() ?? []) {
              const child = nameNode.get(name)
              if (child !== undefined && !push(child)) return false
            }
        } else
          for (const ref of nameRefs[-2 - node]!) {
            const t = target(ref)
            if (t !== null && !push(t)) return false
          }
        continue
      }
      stack.pop()
      if (node < UNKNOWN) nameText[-2 - node] = nameValue(-2 - node)
      else {
        const v = combine(node, streams.get(node)!, drawsText)
        if (v === null) return false
        text.set(node, v)
      }
    }
    return true
  }

  // The forms resource dictionaries name first: the largest bounds a `Do` that cannot be told; then the rest with it.
  for (const refs of nameRefs)
    for (const ref of refs) {
      const t = target(ref)
      if (t !== null && !evaluate(t)) return { text, bounded: false }
    }
  largest = 0
  for (let k = 0; k < nameRefs.length; k++) largest = Math.max(largest, nameValue(k))
  for (const obj of streams.keys()) if (!evaluate(obj)) return { text, bounded: false }
  return { text, bounded: true }
}

/**
 * An object's text from its definitions' (each its size and what it draws): the largest, or for the streams of
 * unknown number (each another stream) their sum; null when what one draws is not known yet.
 */
function combine(obj: number, definitions: Decoded[], drawn: (draws: Draws | null) => number | null): number | null {
  let v = 0
  for (const d of definitions) {
    const x = drawn(d.draws)
    if (x === null) return null
    const size = Math.min(d.size + x, MAX)
    v = obj === UNKNOWN ? Math.min(v + size, MAX) : Math.max(v, size)
  }
  return v
}

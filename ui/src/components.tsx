import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api } from './api'

/** A labelled input: every form field has a visible label tied to it. */
export function Field(props: {
  label: string; name: string; value?: string; type?: string; step?: string; required?: boolean; placeholder?: string
  /** For a number, typed as text (see typed-number.ts): a number field would drop a decimal comma ("1,5" is 15). */
  inputMode?: 'decimal' | 'numeric'
  onInput: (v: string) => void
}) {
  const id = `f-${props.name}`
  return (
    <label for={id}>
      <span>{props.label}</span>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value ?? ''}
        required={props.required}
        placeholder={props.placeholder}
        step={props.step}
        inputMode={props.inputMode}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
    </label>
  )
}

export function Select(props: { label: string; name: string; value: string; options: Array<[string, string]>; onInput: (v: string) => void }) {
  const id = `f-${props.name}`
  return (
    <label for={id}>
      <span>{props.label}</span>
      <select id={id} name={props.name} value={props.value} onInput={(e) => props.onInput((e.target as HTMLSelectElement).value)}>
        {props.options.map(([value, text]) => <option value={value}>{text}</option>)}
      </select>
    </label>
  )
}

export function ErrorLine(props: { error: string | null }) {
  return props.error ? <p class="error" role="alert">{props.error}</p> : null
}

interface Page<T> {
  data: T[]
  next_cursor: string | null
}

/**
 * A server-paginated list: the API's cursor moves forward; the cursors already seen let it move back.
 * `path` carries the filters; changing it starts again at the first page. The cursors and the answer are
 * each kept with the path they belong to, so a new path never asks with an old cursor, never shows the
 * old path's rows, and an answer that arrives after its path (or page) was left is dropped.
 */
export function usePaged<T>(path: string, refresh = 0) {
  const [trail, setTrail] = useState<{ path: string; cursors: Array<string | null> }>({ path, cursors: [null] })
  const [answer, setAnswer] = useState<{ path: string; page: (Page<T> & Record<string, any>) | null; error: string | null }>({ path, page: null, error: null })
  const cursors = trail.path === path ? trail.cursors : [null]
  const { page, error } = answer.path === path ? answer : { page: null, error: null }
  const cursor = cursors[cursors.length - 1]
  useEffect(() => {
    let live = true
    const sep = path.includes('?') ? '&' : '?'
    api<Page<T>>('GET', `${path}${sep}limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).then(
      (p) => live && setAnswer({ path, page: p, error: null }),
      (e) => live && setAnswer((a) => ({ path, page: a.path === path ? a.page : null, error: e.message })),
    )
    return () => {
      live = false
    }
  }, [path, cursor, refresh])
  const nextCursor = page?.next_cursor
  const next = useCallback(() => nextCursor && setTrail({ path, cursors: [...cursors, nextCursor] }), [path, cursors, nextCursor])
  const prev = useCallback(() => setTrail({ path, cursors: cursors.length > 1 ? cursors.slice(0, -1) : cursors }), [path, cursors])
  return { page, error, next, prev, first: cursors.length === 1 }
}

export function Pager(props: { first: boolean; more: boolean; next: () => void; prev: () => void }) {
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={props.first} onClick={props.prev}>Previous</button>
      <button type="button" disabled={!props.more} onClick={props.next}>Next</button>
    </nav>
  )
}

export function Section(props: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  )
}

/** A budget as a bar: spend and reserved against the maximum. */
export function BudgetBar(props: { spend: number; reserved: number; max: number | null }) {
  if (props.max === null) return <span class="muted">unlimited</span>
  // A budget of $0 may spend nothing: drawn full, as one used up, not empty as one untouched.
  if (props.max === 0) return <><meter min={0} max={1} high={0.9} optimum={0} value={1} title="no budget: $0 to spend" /> <span class="muted">no budget</span></>
  const used = props.spend + props.reserved
  return (
    <meter min={0} max={props.max} low={props.max * 0.7} high={props.max * 0.9} optimum={0} value={Math.min(used, props.max)}
      title={`spent $${props.spend}, reserved $${props.reserved} of $${props.max}`} />
  )
}

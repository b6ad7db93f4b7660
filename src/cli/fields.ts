import { UsageError, type Args } from './args'
import { PLAIN_SPELLING, plainNumber } from './plain-number'

/** How one command-line option becomes one field of an admin API body. */
export interface Field {
  option: string
  field: string
  kind: 'text' | 'usd' | 'integer' | 'list' | 'time' | 'boolean'
  help: string
}

/** The body for a create or update: only the options given, each converted to its field's type. */
export function bodyFrom(args: Args, fields: Field[]): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const f of fields) {
    const raw = args.options.get(f.option)
    if (raw !== undefined) body[f.field] = valueOf(f, raw)
  }
  const known = new Set(fields.map((f) => f.option))
  for (const name of args.options.keys()) if (!known.has(name)) throw new UsageError(`unknown option --${name}`)
  return body
}

/**
 * `none` clears a nullable field (an unlimited budget, no expiry). A list says which of the two empties it
 * means, as the console does: `all` is no restriction (null), `none` is nothing at all ([]). For a list of
 * models `none` once meant null, every model: a key meant to be locked out was opened to all of them.
 */
function valueOf(f: Field, raw: string): unknown {
  if (f.kind !== 'list') return raw === 'none' ? null : convert(f, raw)
  return raw === 'all' ? null : raw === 'none' ? [] : convert(f, raw)
}

function convert(f: Field, raw: string): unknown {
  switch (f.kind) {
    case 'text':
      return raw
    case 'usd':
    case 'integer': {
      const n = plainNumber(raw, f.kind)
      if (n === null) throw new UsageError(`--${f.option} must be ${PLAIN_SPELLING[f.kind]}, or none`)
      return n
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean)
      // An empty list would be `none` unsaid: a slip of the shell (an unset variable) must not lock a key out.
      if (items.length === 0) throw new UsageError(`--${f.option} must name at least one, or say all or none`)
      return items
    }
    case 'time': {
      const t = utcTime(raw)
      if (Number.isNaN(t)) throw new UsageError(`--${f.option} must be an ISO date and time, UTC unless it names an offset, e.g. 2027-01-31T00:00, or none`)
      return new Date(t).toISOString()
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${f.option} must be true or false`)
      return raw === 'true'
  }
}

/** Query parameters from options, refusing any option the list does not filter on. */
export function queryFrom(args: Args, filters: Record<string, string>): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [name, value] of args.options) {
    const param = Object.hasOwn(filters, name) ? filters[name] : undefined
    if (!param) throw new UsageError(`unknown option --${name}`)
    query[param] = param === 'since' || param === 'until' ? new Date(checkedTime(name, value)).toISOString() : value
  }
  return query
}

function checkedTime(option: string, raw: string): number {
  const t = utcTime(raw)
  if (Number.isNaN(t)) throw new UsageError(`--${option} must be an ISO date or date and time, UTC unless it names an offset, e.g. 2027-01-31 or 2027-01-31T09:00`)
  return t
}

const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i

/**
 * An ISO date or date and time as epoch ms, NaN if it is neither. The records' days are UTC days, so a time
 * with no zone is UTC, as a bare date already is to Date.parse (which would read `2026-03-01T00:00` in the
 * shell's TZ); other spellings Date.parse takes (`2026/03/01`, `March 1, 2026`) are read in the local zone too,
 * so they are refused rather than guessed at.
 */
function utcTime(raw: string): number {
  const [, date, time, zone] = ISO_TIME.exec(raw.trim()) ?? []
  if (date === undefined || !isCalendarDay(date)) return NaN
  return Date.parse(time === undefined ? date : `${date}T${time}${zone ?? 'Z'}`)
}

/** Date.parse rolls a day past its month's end over (2026-02-30 is March 2nd); the admin API refuses it, so does the CLI. */
function isCalendarDay(date: string): boolean {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  const day = new Date(Date.UTC(y, m - 1, d))
  return day.getUTCMonth() === m - 1 && day.getUTCDate() === d
}

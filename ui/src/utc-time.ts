/**
 * The console's datetime-local fields are read and shown as UTC, as their labels say. A field's value is
 * `YYYY-MM-DDTHH:MM`, with `:SS` when the field shows seconds; a value in the URL may be anything typed there.
 */
const FIELD_VALUE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/

/** The ISO time a field's value names, or null when it names none (a hand-edited `2026-12-01`, `2026-13-01T00:00`). */
export function isoFromUtcField(value: string): string | null {
  if (!FIELD_VALUE.test(value)) return null
  const time = new Date(`${value}Z`)
  return Number.isNaN(time.getTime()) ? null : time.toISOString()
}

/** A time as a field shows it, to the second: shown to the minute, a time saved back would lose its seconds. */
export const utcFieldValue = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 19) : '')

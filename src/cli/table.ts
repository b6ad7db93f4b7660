/**
 * A value for the terminal: control characters (an escape sequence, a carriage return, a newline), format
 * characters (bidi overrides and isolates, zero-width marks, tag characters) and the line and paragraph
 * separators written as `\uXXXX` (`\u{XXXXX}` past U+FFFF). Values come from the API, and some were chosen by
 * key holders (a model name asked for), who must not be able to clear the operator's screen, set its
 * clipboard, forge a line of the table or, in a bidi-aware terminal, reorder the rest of a row.
 */
export const printable = (text: string): string => text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, escaped)

function escaped(c: string): string {
  const code = c.codePointAt(0)!
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * The API's answer as indented JSON for the terminal, by the same rule as `printable`: JSON.stringify escapes only
 * U+0000–U+001F, so the other control, format and separator characters in its strings are written as `\uXXXX`
 * (a surrogate pair's two past U+FFFF, as JSON spells them); the value parsed is the API's answer. The indentation's
 * line breaks are the only raw ones left, every one in a string being escaped already.
 */
export const printableJson = (value: unknown): string => JSON.stringify(value, null, 2).replace(/(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, jsonEscaped)

const jsonEscaped = (c: string): string => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')

/** Rows as an aligned plain-text table of the given columns (missing values shown as `-`). */
export function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => printable(v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v))
  const cells = rows.map((row) => columns.map((c) => cell(row[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

/** One record as `field  value` lines. */
export function renderRecord(record: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(record).map((k) => k.length))
  return Object.entries(record)
    .map(([k, v]) => `${k.padEnd(width)}  ${printable(v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v))}`)
    .join('\n')
}

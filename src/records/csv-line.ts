/**
 * What a spreadsheet may run as a formula: a cell starting with = + - @ (or their full-width forms, which some
 * take as the same), also after leading whitespace, which some skip; or starting with a tab or carriage return.
 */
const FORMULA = /^(\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|[\t\r])/

/**
 * One CSV line. A text cell a spreadsheet would read as a formula (a user id or model name the client chose)
 * is prefixed with ' so that it stays text.
 */
export function csvLine(row: Record<string, unknown>): string {
  return (
    Object.values(row)
      .map((v) => {
        let cell = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
        if (typeof v === 'string' && FORMULA.test(cell)) cell = `'${cell}`
        return /[",\r\n']/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell
      })
      .join(',') + '\r\n'
  )
}

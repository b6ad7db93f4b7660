/**
 * One CSV line. A cell a spreadsheet would read as a formula (a user id or model name the client chose,
 * starting with = + - @) is prefixed with ' so that it stays text.
 */
export function csvLine(row: Record<string, unknown>): string {
  return (
    Object.values(row)
      .map((v) => {
        let cell = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
        if (typeof v === 'string' && /^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`
        return /[",\r\n']/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell
      })
      .join(',') + '\r\n'
  )
}

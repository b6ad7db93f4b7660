/** PDF bytes by class (PDF 32000-1 §7.2.2) and names, shared by the file's tokenizer and the content stream scans. */

export const REGULAR = 0
export const SPACE = 1
export const DELIMITER = 2
export const CLASS = new Uint8Array(256)
for (const c of [0, 9, 10, 12, 13, 32]) CLASS[c] = SPACE
for (const c of '()<>[]{}/%') CLASS[c.charCodeAt(0)] = DELIMITER
export const LF = 10
export const CR = 13
export const PERCENT = 37
export const SLASH = 47
export const HASH = 35

export const hexValue = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1)

/** The name whose text (after its `/`) is `b[from, to)`, `#xx` escapes decoded, as latin1: `/X` and `/#58` are one name. */
export function nameText(b: Buffer, from: number, to: number): string {
  let escaped = false
  for (let i = from; i < to && !escaped; i++) escaped = b[i] === HASH
  if (!escaped) return b.toString('latin1', from, to)
  let s = ''
  for (let i = from; i < to; i++) {
    const c = b[i]!
    if (c === HASH && i + 2 < to && hexValue(b[i + 1]!) >= 0 && hexValue(b[i + 2]!) >= 0) {
      s += String.fromCharCode(hexValue(b[i + 1]!) * 16 + hexValue(b[i + 2]!))
      i += 2
    } else s += String.fromCharCode(c)
  }
  return s
}

/**
 * Text from the config file as a message shows it: in double quotes, with every character an operator cannot see or
 * tell from a space (control and format characters, line and paragraph separators, whitespace other than the space
 * itself: U+0085, a no-break space) written as `\uXXXX`, so that what is wrong with a name can be seen.
 */
export const quoted = (text: string): string => JSON.stringify(text).replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, (c) => (c === ' ' ? c : escaped(c)))

function escaped(c: string): string {
  const code = c.codePointAt(0)!
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
}

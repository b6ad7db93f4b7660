/**
 * Control characters and the two Unicode line separators, which could break the text's one line, and format
 * characters: a bidi override or isolate (U+202A–202E, U+2066–2069) is not ended by the code span and would draw
 * the rest of tollgate's line reordered, as the name's author chose; zero-width and tag characters hide text.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu

/**
 * A name in an alert's one-line text that someone other than the operator may have chosen (a model name a
 * key holder sent, a key's name), made inert for Slack: in an inline code span, which Slack does not format
 * (a bare URL in it is not made a link), its backticks written as `ˋ` (U+02CB) so that it cannot end the
 * span; `&`, `<` and `>` as Slack's escapes, so that it posts no mention or link; control and format characters
 * and line separators as `\uXXXX` (`\u{XXXXX}` past U+FFFF), so that it can neither break the line nor reorder
 * or hide what follows it. The alert's `data` keeps the value as it is.
 */
export const codeSpan = (value: string): string => {
  const inert = value
    .replace(UNSAFE, escaped)
    .replaceAll('`', 'ˋ')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
  return `\`${inert}\``
}

function escaped(c: string): string {
  const code = c.codePointAt(0)!
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
}

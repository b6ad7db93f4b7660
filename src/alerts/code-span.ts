/** Control characters and the two Unicode line separators: any of them could break the text's one line. */
const LINE_BREAKING = /[\p{Cc}\u2028\u2029]/gu

/**
 * A name in an alert's one-line text that someone other than the operator may have chosen (a model name a
 * key holder sent, a key's name), made inert for Slack: in an inline code span, which Slack does not format
 * (a bare URL in it is not made a link), its backticks written as `ˋ` (U+02CB) so that it cannot end the
 * span; `&`, `<` and `>` as Slack's escapes, so that it posts no mention or link; control characters and
 * line separators as `\uXXXX`, so that it cannot break the line. The alert's `data` keeps the value as it is.
 */
export const codeSpan = (value: string): string => {
  const inert = value
    .replace(LINE_BREAKING, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replaceAll('`', 'ˋ')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
  return `\`${inert}\``
}

/**
 * `s` cut to at most `max` UTF-16 units, never between the halves of a surrogate pair (an emoji): a cut there
 * leaves a lone half, which is no Unicode text, and which Postgres's JSON parser refuses (see storableText).
 */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s
  const last = s.charCodeAt(max - 1)
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}

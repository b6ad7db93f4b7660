/**
 * A name in an alert's one-line text that someone other than the operator may have chosen (a model name a
 * key holder sent, a key's name): quoted as JSON, so that it cannot break the line, and with `&`, `<` and
 * `>` written as Slack's escapes, so that a Slack webhook shows it as text rather than as a mention or a
 * link. The alert's `data` keeps the value as it is.
 */
export const quoted = (value: string): string =>
  JSON.stringify(value).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

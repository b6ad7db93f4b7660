/**
 * The settings an edit sends: those whose value read from the fields now differs from their value read from
 * the fields as the form first showed them. A setting sent back as shown could differ from the stored one
 * (an expiry's milliseconds), or undo a change made since the form was filled (another admin, the CLI,
 * another tab): one the operator did not touch must stay as it is.
 */
export function changedSettings<F>(shown: F, now: F, settingsOf: (fields: F) => Record<string, unknown>): Record<string, unknown> {
  const was = settingsOf(shown)
  return Object.fromEntries(Object.entries(settingsOf(now)).filter(([setting, value]) => JSON.stringify(value) !== JSON.stringify(was[setting])))
}

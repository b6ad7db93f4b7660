/**
 * The object with these fields set after every other key, the client's own of the same names taken out. A server
 * that reads keys ignoring case takes the last of a field's spellings (src/http/case-variant-keys.ts): what the
 * gateway writes into a provider's body (the model id, an output cap, a bound) must be the last, to be the one read.
 */
export function withFieldsLast(object: Record<string, unknown> | null | undefined, fields: Record<string, unknown>): Record<string, unknown> {
  // Copied key by key, not spread and then deleted from: an object deleted from becomes a dictionary to the
  // runtime, slower to read and to serialise.
  const out: Record<string, unknown> = {}
  for (const key in object) {
    if (Object.hasOwn(fields, key)) continue
    // A client's `__proto__` key stays a key: assigned, it would set the copy's prototype instead.
    if (key === '__proto__') Object.defineProperty(out, key, { value: object[key], enumerable: true, writable: true, configurable: true })
    else out[key] = object[key]
  }
  return Object.assign(out, fields)
}

/**
 * A body as a Go server reads it into a struct (encoding/json, as Ollama's gin handlers decode chat, Responses and
 * embeddings): a field takes every key equal to its tag ignoring case, `ſ` as `s`, the Kelvin sign as `k` and `ı`
 * as `i` included, and of several the last one wins, even over an exact match (golang/go#43664).
 */
const goFolded = (key: string) => key.toLowerCase().replaceAll('ſ', 's').replaceAll('ı', 'i')

/** The value a Go struct field tagged `json:"<name>"` gets from this object. */
export function goField(object: Record<string, unknown>, name: string): unknown {
  let value: unknown
  for (const [key, v] of Object.entries(object)) if (goFolded(key) === name) value = v
  return value
}

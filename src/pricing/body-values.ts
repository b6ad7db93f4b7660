/** Reading values out of a request body the route schema leaves loose. */

/** A field that holds one object or a list of them, as a list. */
export const entries = (value: unknown): Array<{ type?: unknown } | null> => (Array.isArray(value) ? value : value == null ? [] : [value as { type?: unknown }])

export const positiveInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0

/** A JSON object (not an array, not null). */
export const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

import { z } from 'zod'

/**
 * A query schema that refuses parameters it does not know: a misspelt filter (`?user=` for `?user_id=`)
 * would otherwise be ignored and the list would answer with every row.
 */
export const strictQuery = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; this route takes ${Object.keys(shape).join(', ')}`
        : undefined,
  })

/**
 * A filter's value. An empty one (`?user_id=`, a script's unset variable) is refused: read as no filter, it
 * would answer with every row, as a misspelt one would.
 */
export const filterText = z.string().min(1, 'must not be empty (leave the parameter out for no filter)')

/**
 * A whole number in a query or a path, in decimal digits. `z.coerce.number` would read an empty or blank value
 * (a script's unset variable) as 0, `0x10` as 16 and `1e3` as 1000; the document still shows an integer. A default
 * is given with `.prefault`: the document leaves out a `.default` set after a conversion.
 */
export const decimalInteger = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
    z.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a whole number in decimal digits' : undefined) }).int().min(min).max(max),
  )

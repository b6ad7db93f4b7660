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

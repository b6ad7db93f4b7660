import type { z } from 'zod'
import type { KeyPath } from './yaml-scan'

/**
 * Whether the setting at `path` takes a number (`port`, a price's rate, a threshold): true or false, or undefined
 * when `schema` has no setting there (a misspelt key, which the schema itself refuses by name).
 */
export function takesNumber(schema: z.ZodType, path: KeyPath): boolean | undefined {
  const setting = settingAt(schema, path)
  return setting === undefined ? undefined : numeric(setting)
}

type Def = { type: string; [field: string]: any }
const defOf = (schema: z.ZodType): Def => (schema as any)._zod.def

/** The schema a value is checked by, past wrappers: a default, an optional, or a pipe's side that reads the value. */
function unwrapped(schema: z.ZodType): Def {
  for (let def = defOf(schema); ; ) {
    if ('innerType' in def) def = defOf(def.innerType)
    // A preprocess (a transform first) or a refined unknown then a pipe: the value is read by the pipe's end.
    else if (def.type === 'pipe') def = defOf(['transform', 'unknown'].includes(defOf(def.in).type) ? def.out : def.in)
    else return def
  }
}

function settingAt(schema: z.ZodType, path: KeyPath): z.ZodType | undefined {
  if (path.length === 0) return schema
  const [key, ...rest] = path
  const def = unwrapped(schema)
  if (def.type === 'union') {
    for (const option of def.options) {
      const found = settingAt(option, path)
      if (found !== undefined) return found
    }
    return undefined
  }
  const child =
    def.type === 'object' && typeof key === 'string' ? (Object.hasOwn(def.shape, key) ? def.shape[key] : undefined)
    : def.type === 'record' && typeof key === 'string' ? def.valueType
    : def.type === 'array' && typeof key === 'number' ? def.element
    : undefined
  return child === undefined ? undefined : settingAt(child, rest)
}

function numeric(schema: z.ZodType): boolean {
  const def = unwrapped(schema)
  return def.type === 'number' || (def.type === 'union' && def.options.some(numeric))
}

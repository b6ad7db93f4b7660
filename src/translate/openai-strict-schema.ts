type Json = Record<string, any>

/** Beyond this depth the walk stops and the schema goes without `strict`: a request body cannot make it recurse without end. */
const MAX_DEPTH = 64

/** Keywords whose value is one schema, an array of schemas, or a map of named schemas (`items` is either of the first two). */
const ONE_SCHEMA = ['items', 'additionalItems', 'contains', 'not', 'if', 'then', 'else'] as const
const SCHEMA_LISTS = ['anyOf', 'allOf', 'oneOf', 'prefixItems', 'items'] as const
const SCHEMA_MAPS = ['properties', '$defs', 'definitions', 'patternProperties'] as const

const isObjectSchema = (schema: Json): boolean =>
  schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object')) || (schema.type === undefined && schema.properties != null)

/**
 * Whether OpenAI takes this JSON schema with `strict: true` (a strict `json_schema` response format or function).
 * Its strict mode accepts a subset of JSON Schema and refuses the whole request otherwise (400 "Invalid schema"):
 * the root is an object, and every object, however deep (properties, items, anyOf, allOf, $defs…), sets
 * `additionalProperties: false` and lists every one of its properties in `required` (an optional field is written
 * as a union with null). https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
 * Anthropic's strict mode takes optional properties, and the Anthropic SDK's `zodOutputFormat` writes `.optional()`
 * fields so: a schema valid there need not be here.
 */
export function fitsOpenAIStrict(schema: unknown): boolean {
  return isSchema(schema) && isObjectSchema(schema) && fits(schema, 0)
}

const isSchema = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value)

function fits(schema: Json, depth: number): boolean {
  if (depth > MAX_DEPTH) return false
  if (isObjectSchema(schema)) {
    if (schema.additionalProperties !== false) return false
    if (isSchema(schema.properties)) {
      // A set: a client's schema may list tens of thousands of properties.
      const required = new Set<unknown>(Array.isArray(schema.required) ? schema.required : [])
      if (!Object.keys(schema.properties).every((key) => required.has(key))) return false
    }
  }
  const inner = (value: unknown) => !isSchema(value) || fits(value, depth + 1)
  return (
    ONE_SCHEMA.every((k) => inner(schema[k])) &&
    SCHEMA_LISTS.every((k) => !Array.isArray(schema[k]) || schema[k].every(inner)) &&
    SCHEMA_MAPS.every((k) => !isSchema(schema[k]) || Object.values(schema[k]).every(inner))
  )
}

import { z } from 'zod'

/**
 * The request fields every inference route shares, and the shapes of content both wire formats fix. Each
 * schema types what the gateway reads or the format fixes, and lets everything else through: an unknown
 * field or an unknown part type is a provider feature the gateway does not know yet, sent on as it came
 * (and counted toward the estimate by its bytes). A wrong type is a 400 naming the field, before any hold.
 */

export const MODEL_NAME_MAX_LENGTH = 256

/** `provider:model`, `provider/model` or an alias. */
export const modelName = z.string().min(1).max(MODEL_NAME_MAX_LENGTH)

/** The user to bill (OpenAI's `user`); with a key, it must be the key's own user. */
export const billingUser = z.string().max(256)

/**
 * A content part (OpenAI) or block (Anthropic): an object with a string `type`. Its `text`, where it has
 * one, is a string in both formats; every other field is the part type's own.
 */
export const contentPart = z.looseObject({
  type: z.string({ error: 'must be a string naming the part type' }),
  text: z.string().optional(),
})

/** A message's content: a string, or an array of parts. */
export const content = z.union([z.string(), z.array(contentPart)], {
  error: 'must be a string or an array of content parts, each an object with a string type (and a string text, if any)',
})

/** A list of strings, or one (OpenAI's `stop`). */
export const oneOrMoreStrings = z.union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' })

/**
 * A setting sent as null means "not set": JSON clients send an unset field as null where the SDKs leave it out.
 * It is read as absent (undefined, which the body sent on leaves out: JSON has no undefined), so no route refuses
 * it and no provider, which may refuse a null, is sent one.
 */
export const nullAsUnset = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined)

/** A JSON object whose fields are its own (a tool's parameters, a response format). */
export const jsonObject = z.looseObject({})

// OpenAI Chat Completions

/** A function a tool call names, with its arguments as JSON text. */
const openAIFunctionCall = z.looseObject({ name: z.string(), arguments: z.string() })

/** A tool call in an assistant message: a function call, or a type of call the gateway passes through. */
const openAIToolCall = z.looseObject({
  id: z.string().optional(),
  type: z.string().optional(),
  function: openAIFunctionCall.optional(),
})

/** A message: the fields translation reads (a field more per message is a cost on every request). */
export const openAIMessage = z.looseObject({
  role: z.string(),
  // An assistant message that only calls tools has no content.
  content: content.nullable().optional(),
  tool_calls: z.array(openAIToolCall).nullable().optional(),
  tool_call_id: z.string().optional(),
})

/** A function definition: `name` is what the model calls it by. */
const openAIFunction = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  parameters: jsonObject.optional(),
})

/**
 * `field` required of an object whose `type` is `type`: the check, and the same rule as the `if`/`then` of the JSON
 * Schema /docs shows (a refine alone is not in the document). The check aborts, as a wrong type does, so that a list
 * stops at its first bad item (src/routes/schemas/first-issue.ts).
 */
const requiredOfType = <T extends z.ZodObject>(schema: T, type: string, field: string, message: string) =>
  schema
    .refine((value: Record<string, unknown>) => value.type !== type || value[field] !== undefined, { message, path: [field], abort: true })
    .meta({ if: { properties: { type: { const: type } }, required: ['type'] }, then: { required: [field] } })

/**
 * A tool: `function` (with its definition), or `custom`; another type, one the provider runs itself, is refused at
 * admission (src/pricing/features.ts).
 */
export const openAITool = requiredOfType(
  z.looseObject({ type: z.string(), function: openAIFunction.optional() }),
  'function',
  'function',
  'a function tool needs its function (name, parameters)',
)

export const openAIToolChoice = z.union([z.string(), z.looseObject({ type: z.string() })], {
  error: 'must be a string (auto, none, required) or an object with a type',
})

export const responseFormat = z.looseObject({ type: z.string() })

// Anthropic Messages

export const anthropicMessage = z.looseObject({ role: z.string(), content })

/** A tool: a client tool (name, input_schema) or a server tool (type, name); each has a name. */
export const anthropicTool = z.looseObject({
  name: z.string(),
  type: z.string().optional(),
  description: z.string().optional(),
  input_schema: jsonObject.optional(),
})

export const anthropicToolChoice = z.looseObject({ type: z.string(), name: z.string().optional() })

import { badRequest, type GatewayError } from '../http/errors'

/** A client-chosen name (a part type, a role) as it may appear in an error: short and quoted. */
export const quoted = (value: unknown): string => JSON.stringify(String(value).slice(0, 40))

/** A 400 for something the other wire format cannot carry, naming the field: refused, never dropped silently. */
export const unsupported = (provider: 'Anthropic' | 'OpenAI-compatible', where: string, what: string): GatewayError =>
  badRequest(`Invalid body: ${where}: ${what} cannot be sent to a model served by an ${provider} provider.`)

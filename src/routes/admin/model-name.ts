import { z } from 'zod'

/**
 * A model name an operator writes (a price's model, a key's allow-list entry). Surrounding whitespace (a name
 * pasted from a provider's page or a log line) is refused rather than kept: no client asks for
 * "mock:gpt-mock ", so a price for it would be a second row nobody is billed by while the model meant keeps
 * its old price, and an allow-list entry would allow nothing. Refused rather than trimmed, as the API stores
 * what it is sent.
 */
export const writtenModelName = z.string().refine((name) => name.trim() === name, 'must not begin or end with whitespace')

import { z } from 'zod'
import { providerCut } from './provider-cut'

// Unicode's White_Space, not JavaScript's \s: that leaves out U+0085 (NEXT LINE).
const WHITESPACE = /\p{White_Space}/u
const EDGE_WHITESPACE = /^\p{White_Space}|\p{White_Space}$/u
const FORMAT_CHARACTER = /\p{Cf}/u

/** Whether whitespace sits either side of the `:` or `/` that ends the name's provider ("mock: gpt-mock"). */
function spacedAtProviderCut(name: string): boolean {
  const cut = providerCut(name)
  return cut > 0 && WHITESPACE.test(name.slice(cut - 1, cut) + name.slice(cut + 1, cut + 2))
}

/** Each way a written model name is refused, with what its refusal says. */
const REFUSALS: ReadonlyArray<readonly [refused: (name: string) => boolean, message: string]> = [
  [(name) => EDGE_WHITESPACE.test(name), 'must not begin or end with whitespace'],
  [spacedAtProviderCut, 'must not have whitespace either side of the ":" or "/" after the provider'],
  [(name) => FORMAT_CHARACTER.test(name), 'must not contain invisible format characters (such as a zero-width space or a soft hyphen)'],
]

/**
 * A model name an operator writes (a price's model, a key's allow-list entry; in the config file, a price's model,
 * an alias and its target). Whitespace around it or around its provider's separator (a name pasted from a
 * provider's page or a log line, or typed "provider: model") is refused rather than kept: no client asks for
 * "mock:gpt-mock " or "mock: gpt-mock" (the provider would be sent the id " gpt-mock"), so a price for it would be
 * a second row nobody is billed by while the model meant keeps its old price, and an allow-list entry would allow
 * nothing. Whitespace inside a model id ("mock:modèle 2") is kept. Refused rather than trimmed, as the API stores
 * what it is sent.
 * Invisible format characters (Unicode Cf: a zero-width space, a word joiner, a soft hyphen, a direction mark, a
 * byte-order mark) are refused anywhere in the name: a name pasted from a web page or a chat drags them along, they
 * are not whitespace, the name looks like the model meant in every table, and no provider's model id has one.
 */
export const writtenModelName = REFUSALS.reduce((schema, [refused, message]) => schema.refine((name) => !refused(name), message), z.string())

/** Why `writtenModelName` refuses a name (its first reason), or null. */
export const modelNameRefusal = (name: string): string | null => REFUSALS.find(([refused]) => refused(name))?.[1] ?? null

/** The longest name a price may have: a model named longer (a bare id of 256 with its provider's prefix) cannot be priced. */
export const PRICED_NAME_MAX_LENGTH = 256

/** A price's model as the admin API takes it (`POST /v1/pricing`): a written name, provider:model, at most 256 characters. */
export const pricedModelName = writtenModelName.min(3).max(PRICED_NAME_MAX_LENGTH).regex(/^[A-Za-z0-9_.-]+[:/].+$/, 'must be provider:model (or provider/model)')

import { z } from 'zod'
import { providerCut } from '../../providers/provider-cut'

const EDGE_WHITESPACE = /^\s|\s$/

/** Whether whitespace sits either side of the `:` or `/` that ends the name's provider ("mock: gpt-mock"). */
function spacedAtProviderCut(name: string): boolean {
  const cut = providerCut(name)
  return cut > 0 && /\s/.test(name.slice(cut - 1, cut) + name.slice(cut + 1, cut + 2))
}

/**
 * A model name an operator writes (a price's model, a key's allow-list entry). Whitespace around it or around
 * its provider's separator (a name pasted from a provider's page or a log line, or typed "provider: model") is
 * refused rather than kept: no client asks for "mock:gpt-mock " or "mock: gpt-mock" (the provider would be
 * sent the id " gpt-mock"), so a price for it would be a second row nobody is billed by while the model meant
 * keeps its old price, and an allow-list entry would allow nothing. Whitespace inside a model id
 * ("mock:modèle 2") is kept. Refused rather than trimmed, as the API stores what it is sent.
 */
export const writtenModelName = z
  .string()
  .refine((name) => !EDGE_WHITESPACE.test(name), 'must not begin or end with whitespace')
  .refine((name) => !spacedAtProviderCut(name), 'must not have whitespace either side of the ":" or "/" after the provider')

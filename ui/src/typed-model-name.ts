import { providerCut } from '../../src/providers/provider-cut'

/**
 * A model name as typed, less what the API refuses: invisible format characters anywhere (a zero-width space or
 * a soft hyphen pasted from a web page), and whitespace around the name and either side of the `:` or `/` after
 * its provider: "mock: gpt-mock", typed as prose or pasted, is mock:gpt-mock. Whitespace inside a model id
 * ("mock:modèle 2") is kept.
 */
export function typedModelName(text: string): string {
  const name = trimmed(text.replace(/\p{Cf}/gu, ''))
  const cut = providerCut(name)
  return cut > 0 ? `${trimmed(name.slice(0, cut))}${name[cut]}${trimmed(name.slice(cut + 1))}` : name
}

/** `text` without Unicode whitespace at either end: String's trim leaves U+0085 (NEXT LINE), which the API refuses. */
const trimmed = (text: string) => text.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '')

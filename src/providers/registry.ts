import type { Config, ProviderConfig } from '../config/schema'
import { WIRE_FORMATS, type WireFormat } from '../http/errors'
import { providerCut } from './provider-cut'

export interface ResolvedModel {
  /** `provider:model`: the name prices, allow-lists and usage rows use. */
  canonical: string
  providerName: string
  provider: ProviderConfig
  /** The model id the provider knows. */
  upstreamModel: string
}

/** C0 controls and DEL. */
const CONTROL = /[\u0000-\u001f\u007f]/

/** `provider/model` spelt `provider:model`. */
export function colonSpelling(name: string): string {
  const cut = providerCut(name)
  return cut > 0 && name[cut] === '/' ? `${name.slice(0, cut)}:${name.slice(cut + 1)}` : name
}

/**
 * Turns what a client calls a model into where to send it: an alias; `provider:model` or `provider/model`
 * when the part before the first `:` or `/` names a configured provider; otherwise, when the request's
 * wire format has a default provider, the whole name as that provider's model id. So clients with
 * hard-coded ids (Claude Code's `claude-opus-4-8`, an SDK's `gpt-5`) work without an alias per id, and
 * prices, allow-lists and usage rows still see the canonical `provider:model`.
 */
export class ProviderRegistry {
  constructor(private readonly config: Pick<Config, 'providers' | 'aliases' | 'default_providers'>) {}

  resolve(name: string, wire?: WireFormat): ResolvedModel | null {
    // Own properties only: a client's "constructor" or "__proto__" must not find Object.prototype.
    const target = Object.hasOwn(this.config.aliases, name) ? this.config.aliases[name]! : name
    const cut = providerCut(target)
    if (cut > 0) {
      const named = this.model(target.slice(0, cut), target.slice(cut + 1))
      if (named) return named
    }
    const fallback = wire && this.config.default_providers[wire]
    return fallback ? this.model(fallback, target) : null
  }

  private model(providerName: string, upstreamModel: string): ResolvedModel | null {
    const provider = Object.hasOwn(this.config.providers, providerName) ? this.config.providers[providerName] : undefined
    // No model id has a control character; a NUL, which Postgres text cannot hold, would fail the hold's write.
    if (!provider || !upstreamModel || CONTROL.test(upstreamModel)) return null
    return { canonical: `${providerName}:${upstreamModel}`, providerName, provider, upstreamModel }
  }

  /**
   * The `provider:model` name a client's name stands for, where prices and usage rows keep it; a name the
   * registry cannot resolve (its provider since removed from the config) stands for itself.
   */
  canonicalName(name: string): string {
    return this.resolve(name)?.canonical ?? name
  }

  /**
   * Every `provider:model` a client's name may have been served as, for a filter over usage rows: what `resolve`
   * makes of it on each wire format's routes (a bare id goes to each format's default provider, as admission sends
   * it), and `canonicalName`'s (a name no route resolves matches itself, and, since rows keep the colon, its
   * `provider:model` spelling: a removed provider's `gone/old-model` finds the rows of `gone:old-model`).
   */
  canonicalNames(name: string): string[] {
    const served = WIRE_FORMATS.map((wire) => this.resolve(name, wire)?.canonical)
    const written = this.canonicalName(name)
    return [...new Set([written, colonSpelling(written), ...served.filter((model) => model !== undefined)])]
  }

  get aliases(): Readonly<Record<string, string>> {
    return this.config.aliases
  }
}

import type { Config, ProviderConfig } from '../config/schema'

export interface ResolvedModel {
  /** `provider:model`: the name prices, allow-lists and usage rows use. */
  canonical: string
  providerName: string
  provider: ProviderConfig
  /** The model id the provider knows. */
  upstreamModel: string
}

/** `provider/model` spelt `provider:model`: the first `/` or `:` in a model name ends its provider. */
export function colonSpelling(name: string): string {
  const cut = name.search(/[:/]/)
  return cut > 0 && name[cut] === '/' ? `${name.slice(0, cut)}:${name.slice(cut + 1)}` : name
}

/** Turns what a client calls a model (`provider:model`, `provider/model` or an alias) into where to send it. */
export class ProviderRegistry {
  constructor(private readonly config: Pick<Config, 'providers' | 'aliases'>) {}

  resolve(name: string): ResolvedModel | null {
    // Own properties only: a client's "constructor" or "__proto__" must not find Object.prototype.
    const target = Object.hasOwn(this.config.aliases, name) ? this.config.aliases[name]! : name
    const cut = target.search(/[:/]/)
    if (cut <= 0) return null
    const providerName = target.slice(0, cut)
    const upstreamModel = target.slice(cut + 1)
    const provider = Object.hasOwn(this.config.providers, providerName) ? this.config.providers[providerName] : undefined
    if (!provider || !upstreamModel) return null
    return { canonical: `${providerName}:${upstreamModel}`, providerName, provider, upstreamModel }
  }

  /**
   * The `provider:model` name a client's name stands for, where prices and usage rows keep it; a name the
   * registry cannot resolve (its provider since removed from the config) stands for itself.
   */
  canonicalName(name: string): string {
    return this.resolve(name)?.canonical ?? name
  }

  get aliases(): Readonly<Record<string, string>> {
    return this.config.aliases
  }
}

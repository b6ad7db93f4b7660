/** Where a model name's provider ends: its first `:` or `/` (-1 for none). `provider/model` is `provider:model`. */
export const providerCut = (name: string): number => name.search(/[:/]/)

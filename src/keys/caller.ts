/** Who is calling, as established by the auth plugin. */
export type Caller = MasterCaller | KeyCaller

export interface MasterCaller {
  readonly kind: 'master'
  readonly keyId: 'master'
}

export interface KeyCaller {
  readonly kind: 'key'
  readonly keyId: string
  readonly userId: string
  /** null: every model the gateway can price. Entries written `provider/model` are also here as `provider:model`. */
  readonly allowedModels: readonly string[] | null
  readonly rpmLimit: number | null
  /** A body naming another user: refused, or billed here and forwarded as a tag; null: the global setting. */
  readonly userField: UserFieldPolicy | null
  /** Output lowered to what the budget covers instead of a 402; null: the global setting. */
  readonly clampOutput: boolean | null
}

export type UserFieldPolicy = 'reject' | 'tag'

export const MASTER: MasterCaller = Object.freeze({ kind: 'master', keyId: 'master' })

/**
 * Whether this caller may call a model: the master key and a key without an allow-list call anything; an
 * allow-list names a model by the name the client calls it (an alias, say) or by `provider:model`.
 */
export const mayCall = (caller: Caller, name: string, canonical: string): boolean =>
  caller.kind === 'master' || !caller.allowedModels || caller.allowedModels.includes(name) || caller.allowedModels.includes(canonical)

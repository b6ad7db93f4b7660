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
  /** null: every model the gateway can price. */
  readonly allowedModels: readonly string[] | null
  readonly rpmLimit: number | null
}

export const MASTER: MasterCaller = Object.freeze({ kind: 'master', keyId: 'master' })

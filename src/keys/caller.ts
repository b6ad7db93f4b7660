import { colonSpelling } from '../providers/registry'

/** Who is calling, as established by the auth plugin. */
export type Caller = MasterCaller | KeyCaller

interface MasterCaller {
  readonly kind: 'master'
  readonly keyId: 'master'
}

export interface KeyCaller {
  readonly kind: 'key'
  readonly keyId: string
  /**
   * The hash of the secret this caller authenticated with. What costs money, or reads what was recorded for the
   * key, checks that the key's row still holds it: a rotation made elsewhere may not have reached this cache.
   */
  readonly keyHash: string
  readonly userId: string
  /** null: every model the gateway can price. The entries as the operator wrote them (see `mayCall`). */
  readonly allowedModels: readonly string[] | null
  readonly rpmLimit: number | null
  /** A body naming another user: refused, or billed here and forwarded as a tag; null: the global setting. */
  readonly userField: UserFieldPolicy | null
  /** Output lowered to what the budget covers instead of a 402; null: the global setting. */
  readonly clampOutput: boolean | null
}

type UserFieldPolicy = 'reject' | 'tag'

export const MASTER: MasterCaller = Object.freeze({ kind: 'master', keyId: 'master' })

/**
 * Whether this caller may call a model: the master key and a key without an allow-list call anything. An
 * allow-list entry that is an alias allows that alias, by its own name only: not its target, and not the
 * model its name would spell were it no alias (an alias `mock/gpt-4o` of a cheap model must not allow the
 * real `mock:gpt-4o`). Any other entry allows the name as the client calls it (a bare id) and whatever
 * model is reached as `provider:model`, spelt so or `provider/model`. Aliases are the registry's now, so the
 * check holds however the key's caller was built (a key, a console session) and whenever it was cached.
 */
export function mayCall(caller: Caller, name: string, canonical: string, aliases: Readonly<Record<string, string>>): boolean {
  if (caller.kind === 'master' || !caller.allowedModels) return true
  const allowed = allowListOf(caller.allowedModels)
  if (allowed.names.has(name)) return true
  return allowed.byColonSpelling.get(canonical)?.some((entry) => !Object.hasOwn(aliases, entry)) ?? false
}

/** A key's allow-list, looked up by name: the entries, and the entries by their `provider:model` spelling. */
interface AllowList {
  names: ReadonlySet<string>
  byColonSpelling: ReadonlyMap<string, readonly string[]>
}

/**
 * Built once per allow-list (a key's caller is cached, and its list with it): GET /v1/models asks `mayCall` once
 * per listed model, and an allow-list may have a thousand entries.
 */
const allowLists = new WeakMap<readonly string[], AllowList>()

function allowListOf(entries: readonly string[]): AllowList {
  let allowed = allowLists.get(entries)
  if (allowed) return allowed
  const byColonSpelling = new Map<string, string[]>()
  for (const entry of new Set(entries)) {
    const spelt = colonSpelling(entry)
    const same = byColonSpelling.get(spelt)
    if (same) same.push(entry)
    else byColonSpelling.set(spelt, [entry])
  }
  allowed = { names: new Set(entries), byColonSpelling }
  allowLists.set(entries, allowed)
  return allowed
}

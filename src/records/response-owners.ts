import { databaseBusy, notFound, storedIdsUnwritten } from '../http/errors'
import { hasNul } from '../http/nul'
import type { Caller } from '../keys/caller'
import type { Store, StoredGrowth, StoredResponseRow } from '../store/store'
import { recordedCount } from './token-count'

/**
 * A response, a conversation, an item of a response's output (which a later request may name by reference), a container
 * a response ran in, or a chat answer's audio (which a later chat message names by id for the provider to read again).
 */
export type StoredKind = 'response' | 'conversation' | 'item' | 'container' | 'audio'

export interface StoredResponse {
  id: string
  kind: StoredKind
  userId: string
  provider: string
  model: string
  /** Its size, in the tokens of `model`. */
  contextTokens: number | null
  /** The media and file parts in it, which another model bills at its own rate; null when not counted (an older row). */
  mediaParts: number | null
  /** The bytes of its text, which bound its tokens on any model; null when not counted (an older row). */
  contextBytes: number | null
  /** Whether it holds audio, which the provider reads again as audio input; null when not known (an older row): it may. */
  holdsAudio: boolean | null
  /** Recorded, not read back: an item's response, when the provider forgets the item with it (not a conversation's). */
  expiresWith?: string | null
}

/** The user whose stored ids a caller may use: a key's own; the master key's named user, or (naming none) anyone's. */
export const ownerFor = (caller: Caller, named: unknown): string | null =>
  caller.kind === 'key' ? caller.userId : typeof named === 'string' && named ? named : null

/** The 404 for a stored id its caller's user did not create, or that does not exist: the two are told alike. */
export const notStored = (kind: StoredKind, id: string) =>
  notFound(`No ${kind} with id ${JSON.stringify(id.slice(0, 100))} was created with this key's user.`, `${kind}_not_found`)

/**
 * Refuses a container named by id that is not `owner`'s (null: anyone's, for the master key naming no user) with the
 * same 404 as one that does not exist: another user's holds the files that user's code read and wrote.
 */
export async function refuseAnotherUsersContainer(owners: ResponseOwners, id: string | undefined, owner: string | null): Promise<void> {
  if (id !== undefined && !(await owners.find(id, 'container', owner))) throw notStored('container', id)
}

/**
 * Refuses, as `refuseAnotherUsersContainer` does, a chat answer's audio named by id that is not `owner`'s: the provider
 * reads another user's answer (its speech and transcript) back to whoever names it.
 */
export async function refuseAnotherUsersAudio(owners: ResponseOwners, ids: readonly string[], owner: string | null): Promise<void> {
  if (ids.length === 0) return
  const id = await owners.firstNotOwned(ids, 'audio', owner)
  if (id !== null) throw notStored('audio', id)
}

/** A row as the gateway reads it: a size an older version recorded past a billion tokens (1e19) as a billion, as a usage row's count is. */
const storedResponse = (row: StoredResponseRow): StoredResponse =>
  ({ id: row.id, kind: row.kind, userId: row.user_id, provider: row.provider, model: row.model, contextTokens: row.context_tokens === null ? null : recordedCount(row.context_tokens),
    mediaParts: row.media_parts, contextBytes: row.context_bytes, holdsAudio: row.holds_audio })

/**
 * Who owns each response and conversation id a provider keeps for us (the `stored_responses` table).
 * Recording is written in the background like the request log; a lookup writes what is queued first, so an id is
 * found as soon as its creator has seen it. The first user to record an id keeps it.
 *
 * An id not found is said not to exist only when no write of one may be pending: while the stored ids' writes are
 * stopped by a lock (an index build on their table, another process's on the SQLite file), another replica or worker
 * may have handed out an id it has not written yet (a stream's `response.created`), and a 404 would end the client's
 * chain for good: the lookup is refused 503 database_busy instead, which the client tries again. Another user's id
 * is answered exactly as one not found, lock or not: the answer must not tell whether it exists.
 *
 * A conversation is refused the same way, found or not, while a write of its stored ids may be kept back anywhere
 * (Store.responsesKeptBackAnywhere): its row grows with each turn, and a turn another replica answered may have its
 * growth kept back (the answer withheld, but paid, and the provider keeps the turn), so the size found may
 * be short of what the provider reads. That is asked before the row is read, so that a growth committed before the
 * answer is read with the row. A response's or an item's row does not grow (its first write has its worst case), so
 * one found is sound.
 */
export class ResponseOwners {
  constructor(private readonly store: Pick<Store, 'recordResponse' | 'findResponse' | 'findResponses' | 'forgetResponse' | 'flushResponses' | 'responsesWritable' | 'responsesKeptBack' | 'responsesKeptBackAnywhere'>) {}

  /** Records a stored id with its size; `growBy` grows the size an existing one has instead (see Store.recordResponse). */
  record(s: StoredResponse, growBy?: StoredGrowth): void {
    // Neither recorded nor found, on either store: Postgres cannot hold it, and no provider's id has one.
    if (hasNul(s.id)) return
    this.store.recordResponse(
      { id: s.id, kind: s.kind, user_id: s.userId, provider: s.provider, model: s.model, context_tokens: s.contextTokens, media_parts: s.mediaParts, context_bytes: s.contextBytes,
        holds_audio: s.holdsAudio, expires_with: s.expiresWith ?? null },
      Date.now(),
      growBy,
    )
  }

  /**
   * A container an answer ran in, for the user billed for it: the provider keeps the files its code read and wrote
   * there, whatever the request's `store` says. It has no size: naming it again brings no context in.
   */
  recordContainer(id: string, where: Pick<StoredResponse, 'userId' | 'provider' | 'model'>): void {
    this.record({ id, kind: 'container', ...where, contextTokens: 0, mediaParts: 0, contextBytes: 0, holdsAudio: false })
  }

  /**
   * A chat answer's audio, for the user billed for it: the provider keeps it (about an hour) for a later message to name.
   * Its size is not kept: a message naming it is held at the bound of an audio answer (estimateChat).
   */
  recordAudio(id: string, where: Pick<StoredResponse, 'userId' | 'provider' | 'model'>): void {
    this.record({ id, kind: 'audio', ...where, contextTokens: 0, mediaParts: 0, contextBytes: 0, holdsAudio: true })
  }

  /** The stored id, if `userId` owns it (null: any owner, for the master key). Anyone else is told it does not exist. */
  async find(id: string, kind: StoredKind, userId: string | null): Promise<StoredResponse | null> {
    if (hasNul(id)) return null
    if (kind === 'conversation' && (await this.store.responsesKeptBackAnywhere(id))) throw databaseBusy()
    const row = await this.store.findResponse(id, kind)
    if (!row || (userId !== null && row.user_id !== userId)) return this.missing()
    return storedResponse(row)
  }

  /**
   * The items among `ids` the gateway recorded, whoever owns them, by id: one lookup for a request's input.
   * An id no row can have (a NUL, a lone surrogate, which the list's JSON would carry to Postgres as an escape
   * its parser refuses) is not looked up. `lookedFor`: the ids whose row the request's hold depends on (an item the
   * provider reads from its store, surely or if recorded), each for `userId` (null: any owner); one not found, or
   * another user's, goes through `missing` (503 while a write of it may be pending), whatever the caller then answers.
   */
  async findItems(ids: readonly string[], userId: string | null, lookedFor: readonly string[] = []): Promise<Map<string, StoredResponse>> {
    const unique = [...new Set(ids.filter((id) => !hasNul(id) && id.isWellFormed()))]
    const rows = unique.length === 0 ? [] : await this.store.findResponses(unique, 'item')
    const found = new Map(rows.map((row) => [row.id, storedResponse(row)]))
    const ownsFound = (id: string) => found.has(id) && (userId === null || found.get(id)!.userId === userId)
    // An id with a NUL is not found, lock or not: no row can have one (see `firstNotOwned`).
    if (!lookedFor.every((id) => hasNul(id) || ownsFound(id))) await this.missing()
    return found
  }

  /**
   * The first of `ids` (of `kind`) that `userId` (null: any owner) does not own, or null when it owns them all: one
   * lookup for them all, each id once. One at a time, a body naming one id in 33,000 messages held the request thread
   * ~0.4 s (a SQLite lookup each, after a flush already settled, ran as microtasks back to back). As `find`, one not
   * owned is refused 503 while a write of it may be pending. Not for conversations (`find` asks what they need).
   */
  async firstNotOwned(ids: readonly string[], kind: Exclude<StoredKind, 'conversation'>, userId: string | null): Promise<string | null> {
    const unique = [...new Set(ids)]
    // No row can have a NUL (neither store records one): not found, even while a write may be pending, as `find` says.
    const withNul = unique.find(hasNul)
    if (withNul !== undefined) return withNul
    const lookedUp = unique.filter((id) => id.isWellFormed())
    const rows = lookedUp.length === 0 ? [] : await this.store.findResponses(lookedUp, kind)
    const ownerOf = new Map(rows.map((row) => [row.id, row.user_id]))
    const notOwned = unique.find((id) => !ownerOf.has(id) || (userId !== null && ownerOf.get(id) !== userId))
    if (notOwned === undefined) return null
    await this.missing()
    return notOwned
  }

  /** Not found: null, unless a write of stored ids may be pending (see the class), then 503 database_busy. */
  private async missing(): Promise<null> {
    if (!(await this.store.responsesWritable())) throw databaseBusy()
    return null
  }

  /**
   * Resolves once the ids recorded so far are written where every process finds them: awaited before the client
   * is given them, since its next request may reach another replica (or worker), which would otherwise not know
   * an id its provider will read (a chain refused 404, an item read again unheld). A lock on them is waited out
   * until the database's deadline (Store.flushResponses); still unwritten then, it rejects with 503 database_busy,
   * for the answer to be withheld (it is paid all the same), and the write goes on in the background.
   */
  async written(): Promise<void> {
    await this.store.flushResponses().catch(() => {
      throw storedIdsUnwritten()
    })
  }

  /**
   * Refuses (503 database_busy, before any hold) a request whose answer would be stored while ids this process
   * recorded are kept back by a lock that is still held: its answer would wait for the same lock, be paid and then
   * withheld, and each of an SDK's automatic retries would pay again. No question is asked while nothing is kept back.
   */
  async refuseWhileKeptBack(): Promise<void> {
    if (this.store.responsesKeptBack() && !(await this.store.responsesWritable())) throw databaseBusy()
  }

  /**
   * A response the provider said it deleted: the id is of no more use, nor are its items (not a conversation's,
   * which outlive it). Called only then: an item's row is what makes a request naming it by id be held for it.
   */
  forget(id: string): void {
    this.store.forgetResponse(id)
  }
}

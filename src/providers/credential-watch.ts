import { bytesQuoteCredentials, CredentialsEchoed } from './upstream'

/**
 * A text answer relayed as it is read, searched for the provider's credentials all along, as `bytesQuoteCredentials`
 * finds them (as sent, or JSON-escaped), never held whole. An echo of the request (httpbin's `/anything`) writes the
 * request's body before its headers, so a long body puts the `Authorization` it echoes past any start looked at.
 * The last bytes read are held back until the next read (or the end): as many as the longest spelling of a
 * credential, less one, so that a credential cut between two reads is found before any byte of it is relayed.
 */
export class CredentialWatch {
  /** The longest spelling of a credential `bytesQuoteCredentials` reads, less one: `\uXXXX` writes a UTF-16 unit in 6 bytes. */
  private readonly held: number
  private tail = new Uint8Array(0)
  /** Whether an odd run of `\\` ends just before the tail, so that its first byte is an escape's character, not a `\\` starting one. */
  private tailEscaped = false

  constructor(private readonly credentials: readonly string[]) {
    this.held = Math.max(1, ...credentials.map((c) => 6 * c.length)) - 1
  }

  /** What of the answer may be relayed once `chunk` is read; throws `CredentialsEchoed` when what was read quotes a credential. */
  next(chunk: Uint8Array): Uint8Array[] {
    if (this.credentials.length === 0) return [chunk]
    // A credential cut between reads lies within the held bytes and the start of this chunk.
    const seam = Buffer.concat([this.tail, chunk.subarray(0, this.held)])
    // Each window is decoded from where the escapes' parity is known: one starting on the second `\\` of `\\\\` would
    // take it for an escape's start and swallow the `\\` of a key's `\\u0073` right after.
    const chunkEscaped = escapedAt(this.tail, this.tail.byteLength, this.tailEscaped)
    if (bytesQuoteCredentials([chunk], this.credentials, chunkEscaped) || bytesQuoteCredentials([seam], this.credentials, this.tailEscaped))
      throw new CredentialsEchoed()
    if (chunk.byteLength < this.held) {
      const kept = Math.max(0, seam.byteLength - this.held)
      this.tailEscaped = escapedAt(seam, kept, this.tailEscaped)
      this.tail = seam.subarray(kept)
      return kept === 0 ? [] : [seam.subarray(0, kept)]
    }
    const relayed = [this.tail, chunk.subarray(0, chunk.byteLength - this.held)]
    this.tailEscaped = escapedAt(chunk, chunk.byteLength - this.held, chunkEscaped)
    // A copy: the chunk's buffer goes on to the client with its start.
    this.tail = new Uint8Array(chunk.subarray(chunk.byteLength - this.held))
    return relayed.filter((part) => part.byteLength > 0)
  }

  /** The bytes held back, once the answer has ended. */
  end(): Uint8Array {
    return this.tail
  }
}

const BACKSLASH = 0x5c

/**
 * Whether `bytes[at]` follows an odd run of backslashes, and so is escaped; a run reaching back to `bytes[0]` goes on
 * before it as `startEscaped` says (an odd run ends there or not).
 */
function escapedAt(bytes: Uint8Array, at: number, startEscaped: boolean): boolean {
  let run = 0
  while (run < at && bytes[at - 1 - run] === BACKSLASH) run++
  return (run + (run === at && startEscaped ? 1 : 0)) % 2 === 1
}

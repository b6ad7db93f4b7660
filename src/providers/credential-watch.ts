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

  constructor(private readonly credentials: readonly string[]) {
    this.held = Math.max(1, ...credentials.map((c) => 6 * c.length)) - 1
  }

  /** What of the answer may be relayed once `chunk` is read; throws `CredentialsEchoed` when what was read quotes a credential. */
  next(chunk: Uint8Array): Uint8Array[] {
    if (this.credentials.length === 0) return [chunk]
    // A credential cut between reads lies within the held bytes and the start of this chunk.
    const seam = Buffer.concat([this.tail, chunk.subarray(0, this.held)])
    if (bytesQuoteCredentials([chunk], this.credentials) || bytesQuoteCredentials([seam], this.credentials)) throw new CredentialsEchoed()
    if (chunk.byteLength < this.held) {
      const kept = Math.max(0, seam.byteLength - this.held)
      this.tail = seam.subarray(kept)
      return kept === 0 ? [] : [seam.subarray(0, kept)]
    }
    const relayed = [this.tail, chunk.subarray(0, chunk.byteLength - this.held)]
    // A copy: the chunk's buffer goes on to the client with its start.
    this.tail = new Uint8Array(chunk.subarray(chunk.byteLength - this.held))
    return relayed.filter((part) => part.byteLength > 0)
  }

  /** The bytes held back, once the answer has ended. */
  end(): Uint8Array {
    return this.tail
  }
}

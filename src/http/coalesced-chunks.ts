/** A chunk this large or larger is kept as it came: its array's own cost is small beside its bytes. */
const OWN_ARRAY_BYTES = 4096

/** The block smaller chunks are copied into. */
const BLOCK_BYTES = 64 * 1024

/**
 * A body's chunks kept until it ends, at about the memory of their bytes. Each chunk a stream hands over is an array of
 * its own, ~100 bytes beyond its bytes: a chunked body sent a byte a chunk (2 MB in 2 million chunks, 12 MB on the
 * wire) took ~220 MB kept that way, where the read budget counts its 2 MB. Small chunks are copied into blocks instead.
 */
export class CoalescedChunks {
  private readonly chunks: Uint8Array[] = []
  private block: Uint8Array | null = null
  private used = 0
  private bytes = 0

  /** The bytes pushed so far. */
  get total(): number {
    return this.bytes
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength
    if (chunk.byteLength >= OWN_ARRAY_BYTES) {
      this.flush()
      this.chunks.push(chunk)
      return
    }
    if (this.used + chunk.byteLength > BLOCK_BYTES) this.flush()
    this.block ??= new Uint8Array(BLOCK_BYTES)
    this.block.set(chunk, this.used)
    this.used += chunk.byteLength
  }

  /** Every byte pushed, in order, in one buffer. */
  joined(): Buffer {
    this.flush()
    return Buffer.concat(this.chunks, this.bytes)
  }

  /**
   * Ends the block in use. One filled past half is kept as it is; one barely used (small chunks between large ones) is
   * copied out at its size and used again, so that a byte between two large chunks never costs a whole block.
   */
  private flush(): void {
    if (this.used === 0) return
    if (this.used >= BLOCK_BYTES / 2) {
      this.chunks.push(this.block!.subarray(0, this.used))
      this.block = null
    } else this.chunks.push(this.block!.slice(0, this.used))
    this.used = 0
  }
}

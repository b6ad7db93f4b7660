/**
 * The containers a JSON reader is inside, innermost last: a bit each (object or array), so that text nested millions
 * deep costs an eighth of a byte a level, not a slot of an array.
 */
export class ContainerStack {
  private bits = new Uint8Array(16)
  depth = 0

  push(isObject: boolean): void {
    const byte = this.depth >> 3
    if (byte === this.bits.length) {
      const grown = new Uint8Array(this.bits.length * 2)
      grown.set(this.bits)
      this.bits = grown
    }
    const mask = 1 << (this.depth & 7)
    this.bits[byte] = isObject ? this.bits[byte]! | mask : this.bits[byte]! & ~mask
    this.depth++
  }

  pop(): void {
    this.depth--
  }

  /** Whether the innermost container is an object (false outside any). */
  inObject(): boolean {
    if (this.depth === 0) return false
    const at = this.depth - 1
    return (this.bits[at >> 3]! & (1 << (at & 7))) !== 0
  }
}

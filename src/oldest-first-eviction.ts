/**
 * Keeps a Map at its bound by deleting its oldest entry (the first inserted) for each new one, through one
 * iterator kept from one eviction to the next. `map.delete(map.keys().next().value)` would read as well, but in
 * JavaScriptCore a deleted entry stays in the table until it is rehashed, and a new iterator walks past every one
 * of them: each eviction cost more than the one before (6 µs each for the first thousands, 100-200 µs past
 * 60,000), so a full map made every new client several times dearer than the request it came with. The kept
 * iterator starts where the last eviction left it, and entries set since come after it, in order.
 */
export class OldestFirstEviction<K> {
  private keys: Iterator<K>

  constructor(private readonly map: Map<K, unknown>) {
    this.keys = map.keys()
  }

  /** Deletes the oldest entry, if there is one. */
  evictOldest(): void {
    let oldest = this.keys.next()
    // An iterator that reached the end stays there (the map was emptied meanwhile): a new one starts again.
    if (oldest.done) {
      this.keys = this.map.keys()
      oldest = this.keys.next()
    }
    if (!oldest.done) this.map.delete(oldest.value)
  }
}

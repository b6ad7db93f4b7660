/**
 * The chunks a body read in pieces may come in before their sizes are judged. Each chunk is one read of the body
 * stream, with its checks (~0.8 µs of the request thread): 4,096 cost it ~3 ms, and cover a small body whose chunks
 * are small for any reason (a slow pipe, a few bytes between larger pieces).
 */
export const FREE_CHUNKS = 4096

/**
 * The smallest average chunk a body past FREE_CHUNKS may keep to. Measured with 20 MB bodies, real clients send
 * 52-65 KB a read (curl `-T -` and `--data-binary`, Node's fetch and http, the OpenAI SDK's file uploads, Bun's
 * fetch) or 8 KB (a Python generator of 8 KiB pieces), and a TCP segment carries ~1,400 bytes: sent a byte a chunk,
 * a 2 MB body took 2 million reads, ~1.5-3 s of the request thread, before it was parsed.
 */
export const MIN_AVERAGE_CHUNK_BYTES = 512

/**
 * Whether a body that has come to `total` bytes in `chunks` chunks is too fragmented to read on. Checked as each chunk
 * arrives, it bounds a body's reads at FREE_CHUNKS or its bytes over MIN_AVERAGE_CHUNK_BYTES, whichever is more
 * (51,200 for a 25 MiB body, ~40 ms: about what parsing it costs).
 */
export const tooFragmented = (chunks: number, total: number): boolean =>
  chunks > FREE_CHUNKS && total < chunks * MIN_AVERAGE_CHUNK_BYTES

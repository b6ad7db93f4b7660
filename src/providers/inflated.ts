/** The decompression for each content coding Bun's fetch would undo by itself. */
const FORMATS: Readonly<Record<string, Bun.CompressionFormat>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'brotli', zstd: 'zstd' }

type Bytes = Uint8Array<ArrayBuffer>

/** Statuses whose answers have no body: a Response with one cannot be made. */
const BODILESS = new Set([101, 204, 205, 304])

/**
 * A provider's answer, fetched with `decompress: false`, its body decompressed as it is read, 64 KB at a time. Bun's
 * fetch decompresses each socket read whole: a gzip answer 1,000 times smaller on the wire than inflated (398 KiB
 * for 400 MiB) became one chunk of 100-200 MB, at times more, before any bound (`boundedText`) could count it. The
 * gateway asks for answers not compressed (`authHeaders`); this is for a server that compresses them anyway. The
 * headers are what fetch gives either way (the coding and the length on the wire included); an empty body stays
 * empty (a decompressor would fail it as cut short, where fetch gave '').
 */
export function inflated(res: Response): Response {
  const format = FORMATS[res.headers.get('content-encoding')?.trim().toLowerCase() ?? '']
  if (!format || !res.body || BODILESS.has(res.status) || res.headers.get('content-length') === '0') return res
  const body = format === 'deflate' ? deflated(res.body) : res.body.pipeThrough(new DecompressionStream(format))
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
}

/**
 * `deflate` is the zlib format by the standard, but some servers send the bare deflate stream under that name, and
 * fetch read both: which one it is shows in the first two bytes (a zlib header names method 8 and is a multiple of
 * 31). The body is read until it has them, then decompressed as that format, those bytes first.
 */
function deflated(body: ReadableStream<Bytes>): ReadableStream<Bytes> {
  const reader = body.getReader()
  const start = async () => {
    let head: Bytes = new Uint8Array(0)
    while (head.length < 2) {
      const read = await reader.read()
      if (read.done) break
      head = head.length === 0 ? read.value : Buffer.concat([head, read.value])
    }
    if (head.length === 0) return undefined
    const zlib = head.length >= 2 && (head[0]! & 0x0f) === 8 && head[0]! >> 4 <= 7 && ((head[0]! << 8) | head[1]!) % 31 === 0
    const rest = new ReadableStream<Bytes>({
      start: (controller) => controller.enqueue(head),
      pull: async (controller) => {
        const read = await reader.read()
        if (read.done) controller.close()
        else controller.enqueue(read.value)
      },
      cancel: (reason) => reader.cancel(reason),
    })
    return rest.pipeThrough(new DecompressionStream(zlib ? 'deflate' : 'deflate-raw')).getReader()
  }
  let inflating: Awaited<ReturnType<typeof start>>
  return new ReadableStream<Bytes>({
    async pull(controller) {
      inflating ??= await start()
      const read = inflating ? await inflating.read() : { done: true as const }
      if (read.done) controller.close()
      else controller.enqueue(read.value)
    },
    cancel: (reason) => (inflating ?? reader).cancel(reason),
  })
}

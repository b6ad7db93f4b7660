/** The decompression for each content coding Bun's fetch would undo by itself. */
const FORMATS: Readonly<Record<string, Bun.CompressionFormat>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'brotli', zstd: 'zstd' }

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
  return new Response(res.body.pipeThrough(new DecompressionStream(format)), { status: res.status, statusText: res.statusText, headers: res.headers })
}

/** The decompression for each content coding Bun's fetch would undo by itself. */
const FORMATS: Readonly<Record<string, Bun.CompressionFormat>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'brotli', zstd: 'zstd' }

/**
 * A provider's answer, fetched with `decompress: false`, its body decompressed as it is read, 64 KB at a time. Bun's
 * fetch decompresses each socket read whole: a gzip answer 1,000 times smaller on the wire than inflated (398 KiB
 * for 400 MiB) became one chunk of 100-200 MB, at times more, before any bound (`boundedText`) could count it. The
 * headers are what fetch gives either way (the coding and the length on the wire included).
 */
export function inflated(res: Response): Response {
  const format = FORMATS[res.headers.get('content-encoding')?.trim().toLowerCase() ?? '']
  if (!format || !res.body) return res
  return new Response(res.body.pipeThrough(new DecompressionStream(format)), { status: res.status, statusText: res.statusText, headers: res.headers })
}

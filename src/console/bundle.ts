import { join } from 'node:path'

const UI_SOURCE = join(import.meta.dir, '..', '..', 'ui')

interface Asset {
  body: Uint8Array
  type: string
  etag: string
}

let bundle: Promise<Map<string, Asset>> | undefined

/**
 * The console's script and stylesheet, bundled by Bun from `ui/` (Preact, uPlot) the first time they are
 * asked for, and kept in memory. Built where it runs, from the locked dependencies: nothing generated is
 * committed, no build step to forget, and a gateway that never serves /ui never pays for it.
 */
export function consoleBundle(): Promise<Map<string, Asset>> {
  bundle ??= build().catch((error) => {
    bundle = undefined
    throw error
  })
  return bundle
}

async function build(): Promise<Map<string, Asset>> {
  const result = await Bun.build({
    entrypoints: [join(UI_SOURCE, 'src', 'main.tsx')],
    target: 'browser',
    minify: true,
    naming: 'app.[ext]',
    jsx: { runtime: 'automatic', importSource: 'preact' },
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  if (!result.success) throw new AggregateError(result.logs, 'the console bundle did not build')
  const assets = new Map<string, Asset>()
  for (const output of result.outputs) {
    const name = output.path.slice(output.path.lastIndexOf('/') + 1)
    const body = new Uint8Array(await output.arrayBuffer())
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8'
    assets.set(name, { body, type, etag: `"${new Bun.CryptoHasher('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return assets
}

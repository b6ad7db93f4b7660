/**
 * An older tollgate, as an operator ran it: the tree of a past commit (`git archive <rev>`), extracted once
 * under /tmp/tollgate-old-build-<rev>-<checkout> and run with this worktree's node_modules, so that the database an upgrade
 * opens was written by that version's own code, not by SQL that imitates it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, capturedOutput, MASTER_KEY, mockProviders, ROOT, tempDir } from './gateway'
import { madeOnce } from './made-once'
import type { MockProvider } from './mock-provider'

/** Packages an old version needed that this one dropped, fetched from the npm registry once (`npm pack`). */
const PACKS = '/tmp/tollgate-old-build-pkgs'

export function oldTree(rev: string): string {
  // One per checkout: its node_modules are linked in by path.
  const dir = `/tmp/tollgate-old-build-${rev}-${Bun.hash(ROOT).toString(36)}`
  if (existsSync(dir) && !existsSync(join(dir, '.ready'))) rmSync(dir, { recursive: true, force: true }) // cut short by an older harness
  return madeOnce(dir, (making) => {
    const archive = Bun.spawnSync(['sh', '-c', `git -C ${JSON.stringify(ROOT)} archive ${rev} | tar -x -C ${JSON.stringify(making)}`])
    if (archive.exitCode !== 0) throw new Error(`git archive ${rev} failed: ${archive.stderr.toString()}`)
    // This worktree's packages, each by a link, plus any the old version needed that this one dropped (unpacked
    // from the tarball `npm pack` fetches into PACKS), so that they share the one elysia.
    const modules = join(making, 'node_modules')
    mkdirSync(modules)
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name.startsWith('@')) {
        mkdirSync(join(modules, name))
        for (const sub of readdirSync(join(ROOT, 'node_modules', name))) symlinkSync(join(ROOT, 'node_modules', name, sub), join(modules, name, sub))
      } else symlinkSync(join(ROOT, 'node_modules', name), join(modules, name))
    }
    const deps = JSON.parse(readFileSync(join(making, 'package.json'), 'utf8')).dependencies as Record<string, string>
    for (const [name, version] of Object.entries(deps)) {
      if (existsSync(join(modules, name))) continue
      mkdirSync(join(modules, name), { recursive: true })
      const untar = Bun.spawnSync(['tar', '-xzf', packed(rev, name, version), '-C', join(modules, name), '--strip-components=1'])
      if (untar.exitCode !== 0) throw new Error(`untar ${name}@${version}: ${untar.stderr.toString()}`)
    }
    writeFileSync(join(making, '.ready'), '')
  })
}

/** The tarball of `name@version` in PACKS, fetched by `npm pack` the first time (made apart and moved in whole). */
function packed(rev: string, name: string, version: string): string {
  const file = `${name.replace('@', '').replace('/', '-')}-${version}.tgz`
  return join(
    madeOnce(join(PACKS, file.replace(/\.tgz$/, '')), (making) => {
      const pack = Bun.spawnSync(['npm', 'pack', `${name}@${version}`, '--pack-destination', making], { stdout: 'pipe', stderr: 'pipe' })
      if (pack.exitCode !== 0 || !existsSync(join(making, file))) throw new Error(`${rev} needs ${name}@${version}, which \`npm pack\` could not fetch: ${pack.stderr.toString()}`)
    }),
    file,
  )
}

export interface OldGateway {
  url: string
  proc: ReturnType<typeof Bun.spawn>
  output(): string
  admin<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>
  stop(): Promise<void>
  kill9(): Promise<void>
}

/** Starts `bun src/index.ts` of the old tree `rev` on `dbPath` (or TOLLGATE_DATABASE_URL in env). */
export async function spawnOld(rev: string, o: { mock?: MockProvider; dbPath: string; env?: Record<string, string>; config?: Record<string, unknown> }): Promise<OldGateway> {
  const tree = oldTree(rev)
  const dir = tempDir('old-build-run-')
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(file, JSON.stringify({ providers: o.mock ? mockProviders(o.mock) : {}, ...o.config }))
  const proc = Bun.spawn([BUN, join(tree, 'src', 'index.ts')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_CONFIG: file, TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', TOLLGATE_DB: o.dbPath, TOLLGATE_LOG_LEVEL: 'warn', ...o.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const output = capturedOutput(proc as any)
  const deadline = Date.now() + 20_000
  let url: string | undefined
  while (!url) {
    url = /listening on (http:\/\/\S+)/.exec(output())?.[1]
    if (url) break
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`old gateway ${rev} did not start (exit ${proc.exitCode}):\n${output()}`)
    }
    await Bun.sleep(20)
  }
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${MASTER_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  return {
    url,
    proc,
    output,
    admin,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM')
        await proc.exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
    async kill9() {
      proc.kill('SIGKILL')
      await proc.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

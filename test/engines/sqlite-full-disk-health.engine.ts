/**
 * A full disk under the default SQLite install (red team js). README's route table says `/health` is "503 when the
 * database does not answer, or takes no writes", and Records lists "a full disk" first among the ways "the database
 * takes no writes". On a real full filesystem every billed request is refused 503 `database_full` (nothing can be
 * held), yet `/health` answers 200 `{"status":"ok"}`: a load balancer keeps sending the process traffic it refuses,
 * and a container orchestrator sees a healthy gateway. `SqliteStore.ping` asks only for EROFS (a read-only
 * remount), never whether the file can grow. Now a commit's failure is kept until one lands (`database: full`), and
 * said once an outage in the log, not once a refused request.
 *
 * A real tmpfs of 8 MB over the database's folder, filled with a file of zeroes while the gateway serves. Needs root
 * (mount), as sqlite-read-only-filesystem.engine.ts does.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { execSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { waitFor } from '../support/wait-for'

let dir: string
let mounted = false
let gw: SpawnedGateway
let mock: MockProvider
let secret: string

function run(command: string): void {
  execSync(command, { stdio: 'pipe' })
}

/** The files of zeroes made so far. */
const filled: string[] = []

/** A file of zeroes in the database's folder, as large as there is room for (dd stops at ENOSPC). */
function fill(name: string): void {
  filled.push(name)
  try {
    run(`dd if=/dev/zero of=${join(dir, name)} bs=64k`)
  } catch {}
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-rtjs-full-'))
  run(`mount -t tmpfs -o size=8m,mode=0700 tmpfs ${dir}`)
  mounted = true
  mock = startMockProvider()
  // A process of its own: what it logs is read as an operator reads it.
  gw = await spawnGateway({ mock, dbPath: join(dir, 'tollgate.db') })
  ;({ secret } = await gw.userWithKey({ id: 'u', max_budget: 100 }))
})
afterAll(async () => {
  for (const name of filled) rmSync(join(dir, name), { force: true })
  await gw?.stop()
  mock?.stop()
  if (mounted) run(`umount -l ${dir}`)
  rmSync(dir, { recursive: true, force: true })
})

const chat = async () => {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(2000) }] }),
  })
  const body = (await res.json()) as { error?: { code?: string } }
  return `${res.status} ${body.error?.code ?? 'ok'}`
}
/** Lines the gateway has printed (its log, its errors) that match `pattern`. */
const linesSaying = (pattern: RegExp) => gw.output().split('\n').filter((line) => pattern.test(line)).length
const health = async () => {
  const res = await fetch(`${gw.url}/health`)
  return { status: res.status, body: await res.json() }
}

test('a full disk: every hold is refused 503 database_full, and /health says the database takes no writes (503), not ok', async () => {
  expect(await chat()).toBe('200 ok')
  expect(await health()).toEqual({ status: 200, body: { status: 'ok' } })
  // The disk fills up (another process's log, a large prune's WAL): dd stops at ENOSPC.
  fill('fill')
  // Requests until the WAL's room left from before is used up (40 did on a quiet machine; a loaded one batches more
  // rows a commit, and took more): each then finds no room for its hold.
  const answers: string[] = []
  const saidBefore = linesSaying(/disk is full/)
  for (let i = 0; i < 400 && answers.at(-1) !== '503 database_full'; i++) answers.push(await chat())
  expect(answers.at(-1)).toBe('503 database_full')
  // The gateway's own work gives room back now and then (a checkpoint cutting the WAL back: a loaded run served 3
  // requests after the first refusal, a four-worker run 5 after a refill), so the disk is filled again before each
  // request, until five in a row find it full. A commit that landed in such room ended the outage, and the next is
  // said once more (CI run 46): what is counted from here is after the first refusal of the five.
  let refused: string[] = []
  let saidAtFull = 0
  for (let i = 0; i < 50 && refused.length < 5; i++) {
    fill(`fill-more-${i}`)
    const answer = await chat()
    if (answer !== '503 database_full') {
      refused = []
      continue
    }
    refused.push(answer)
    if (refused.length === 1) {
      await Bun.sleep(100)
      saidAtFull = linesSaying(/disk is full/)
    }
  }
  expect(refused).toEqual(Array(5).fill('503 database_full'))
  // The database takes no writes, which README's route table says /health answers 503 to.
  expect(await health()).toEqual({ status: 503, body: { status: 'unavailable', database: 'full' } })
  // Said for the outage, not once a refused request (40 refused requests said it 40 times, and each failed commit
  // once more): four more refusals say nothing more.
  await Bun.sleep(100)
  expect({ said: linesSaying(/disk is full/) > saidBefore, saidAgain: linesSaying(/disk is full/) - saidAtFull }).toEqual({ said: true, saidAgain: 0 })
  // Room again: the gateway recovers by itself, with no request needed (a load balancer sends it none while it
  // answers 503): the refused requests' log rows, tried again every second, land.
  for (const name of filled) rmSync(join(dir, name), { force: true })
  await waitFor(10_000, async () => (await health()).status === 200)
  expect(await health()).toEqual({ status: 200, body: { status: 'ok' } })
  expect(await chat()).toBe('200 ok')
}, 60_000)

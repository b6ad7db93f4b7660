/**
 * The Postgres store's records scans take turns (src/store/postgres/records-scans.ts): one at a time per replica, the
 * others waiting in order (up to a bound on memory only), the line refused once the running scan goes unanswered for
 * the deadline, and a scan whose caller hung up before its turn dropped. Its cancelling of a running statement needs a Postgres:
 * test/engines/records-scans-one-at-a-time.alone.engine.ts.
 */
import type { SQL } from 'bun'
import { expect, test } from 'bun:test'
import { MAX_WAITING_SCANS, OneScanAtATime } from '../src/store/postgres/records-scans'

const DEADLINE_MS = 200
const lane = () => new OneScanAtATime({} as SQL, DEADLINE_MS)
const outcome = (answer: Promise<unknown>) => answer.then((value) => value, (error) => error.code)

/** A scan that records when it began and answers when told. */
function heldScan(began: string[], name: string) {
  const { promise, resolve } = Promise.withResolvers<string>()
  return { scan: () => (began.push(name), promise), answer: () => resolve(name) }
}

test('scans run one at a time, in the order asked for', async () => {
  const scans = lane()
  const began: string[] = []
  const [a, b, c] = ['a', 'b', 'c'].map((name) => heldScan(began, name))
  const answers = [a, b, c].map((s) => outcome(scans.run(s!.scan)))
  await Bun.sleep(5)
  expect(began).toEqual(['a'])
  a!.answer()
  await Bun.sleep(5)
  expect(began).toEqual(['a', 'b'])
  b!.answer()
  await Bun.sleep(5)
  expect(began).toEqual(['a', 'b', 'c'])
  c!.answer()
  expect(await Promise.all(answers)).toEqual(['a', 'b', 'c'])
})

test(`past ${MAX_WAITING_SCANS} waiting, a scan is refused at once as reports_busy (the database is not down)`, async () => {
  const scans = lane()
  const began: string[] = []
  const held = Array.from({ length: MAX_WAITING_SCANS + 1 }, (_, i) => heldScan(began, String(i)))
  const answers = held.map((s) => outcome(scans.run(s.scan)))
  const refused = await scans.run(async () => 'one too many').catch((error) => error)
  expect([refused.status, refused.code, refused.headers['retry-after']]).toEqual([503, 'reports_busy', '1'])
  for (const s of held) s.answer()
  expect(await Promise.all(answers)).toEqual(held.map((_, i) => String(i)))
})

test('a console page of scans from two admins at once all wait their turn: none is refused', async () => {
  const scans = lane()
  const began: string[] = []
  const held = Array.from({ length: 14 }, (_, i) => heldScan(began, String(i)))
  const answers = held.map((s) => outcome(scans.run(s.scan)))
  for (const s of held) s.answer()
  expect(await Promise.all(answers)).toEqual(held.map((_, i) => String(i)))
})

test('a scan whose caller hung up before its turn never begins', async () => {
  const scans = lane()
  const began: string[] = []
  const [a, b, c] = ['a', 'b', 'c'].map((name) => heldScan(began, name))
  const hangsUp = new AbortController()
  const answers = [outcome(scans.run(a!.scan)), outcome(scans.run(b!.scan, hangsUp.signal)), outcome(scans.run(c!.scan))]
  hangsUp.abort()
  a!.answer()
  c!.answer()
  expect(await Promise.all(answers)).toEqual(['a', 'client_closed_request', 'c'])
  expect(began).toEqual(['a', 'c'])
})

test('a running scan unanswered for the deadline: it and every scan waiting behind it are refused then', async () => {
  const scans = lane()
  const began: string[] = []
  const stuck = heldScan(began, 'stuck')
  const asked = performance.now()
  const answers = [outcome(scans.run(stuck.scan)), outcome(scans.run(async () => 'behind'))]
  expect(await Promise.all(answers)).toEqual(['database_unavailable', 'database_unavailable'])
  expect(performance.now() - asked).toBeLessThan(DEADLINE_MS * 2)
  // The next turn comes once the stuck scan has ended.
  const next = outcome(scans.run(async () => 'next'))
  await Bun.sleep(20)
  expect(began).toEqual(['stuck'])
  stuck.answer()
  expect(await next).toBe('next')
})

test('a scan that waits behind scans the database answers, one after another, waits past the deadline', async () => {
  const scans = lane()
  const slow = () => Bun.sleep(DEADLINE_MS * 0.6).then(() => 'slow')
  const answers = [slow, slow, slow].map((scan) => outcome(scans.run(scan)))
  expect(await Promise.all(answers)).toEqual(['slow', 'slow', 'slow'])
})

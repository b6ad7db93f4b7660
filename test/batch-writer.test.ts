import { expect, test } from 'bun:test'
import { BatchWriter } from '../src/store/postgres/batch'

/** Waits until `done` says so (a timer firing late on a busy machine is not a failure); 2 s at most. */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 2000; !done() && Date.now() < deadline; ) await Bun.sleep(1)
}

/** A write that records each batch and finishes when the test says so. */
function heldWrites() {
  const batches: number[][] = []
  const finish: Array<() => void> = []
  const write = (rows: number[]) => {
    batches.push(rows)
    return new Promise<void>((resolve) => finish.push(resolve))
  }
  return { batches, finish, write }
}

test('rows queued while a batch is written are not sent on their own when another transaction is about to carry them', async () => {
  const w = heldWrites()
  const writer = new BatchWriter<number>(w.write, () => {}, { retry: false, lingerMs: 1, what: 'row' })
  let reservationInFlight = false
  writer.holdBackWhile(() => reservationInFlight)

  writer.push(1)
  await until(() => w.batches.length > 0)
  expect(w.batches).toEqual([[1]]) // the linger ended with nothing holding it back: sent on its own

  writer.push(2)
  reservationInFlight = true // a reservation batch starts while [1] is still being written
  w.finish[0]!()
  await Bun.sleep(10)
  // Sent now, [2] would hold the user's row through a commit of its own while the reservation waits for it.
  expect(w.batches).toEqual([[1]])
  expect(writer.take()).toEqual([2]) // the reservation takes it

  writer.push(3)
  await Bun.sleep(10)
  expect(w.batches).toEqual([[1]]) // still held back
  reservationInFlight = false
  writer.nudge() // what the reservation does when it is done
  await until(() => w.batches.length > 1)
  expect(w.batches).toEqual([[1], [3]])
  w.finish[1]!()
  await writer.flush()
})

test('with nothing holding them back, rows queued while a batch is written are sent as soon as it is done', async () => {
  const w = heldWrites()
  const writer = new BatchWriter<number>(w.write, () => {}, { retry: false, lingerMs: 1, what: 'row' })
  writer.push(1)
  await until(() => w.batches.length > 0)
  writer.push(2)
  writer.push(3)
  w.finish[0]!()
  await Bun.sleep(0)
  expect(w.batches).toEqual([[1], [2, 3]])
  w.finish[1]!()
  await writer.flush()
})

/** A write that fails its first `failures` tries (a dropped connection), recording the batches it was given. */
function failingWrites(failures: number) {
  const batches: number[][] = []
  const write = async (rows: number[]) => {
    batches.push(rows)
    if (failures-- > 0) throw new Error('Connection closed')
  }
  return { batches, write }
}

test('a close sends again, after the writer\'s pause, what a failed send kept, until it is written', async () => {
  const w = failingWrites(2)
  const errors: string[] = []
  const writer = new BatchWriter<number>(w.write, (e) => errors.push(String(e)), { retry: true, lingerMs: 1, retryMs: 20, what: 'row' })
  writer.push(1)
  writer.push(2)
  await writer.close(new AbortController().signal)
  expect(w.batches).toEqual([[1, 2], [1, 2], [1, 2]])
  expect(errors).toEqual(['Error: Connection closed', 'Error: Connection closed'])
})

test('a close gives up at its deadline (the signal) and says how many rows it did not write', async () => {
  const w = failingWrites(Infinity)
  const errors: string[] = []
  const writer = new BatchWriter<number>(w.write, (e) => errors.push(String(e)), { retry: true, lingerMs: 1, retryMs: 20, what: 'row' })
  writer.push(1)
  writer.push(2)
  const started = Date.now()
  await writer.close(AbortSignal.timeout(100))
  expect(Date.now() - started).toBeLessThan(500)
  expect(w.batches.length).toBeGreaterThan(1)
  expect(errors.at(-1)).toBe("Error: 2 row(s) not written (or not answered) by the stop's deadline; dropped")
  writer.push(3)
  expect(errors.at(-1)).toBe('Error: row queued after the store was closed; dropped')
})

test('a close does not send again what a writer that does not retry dropped, nor wait for a pause', async () => {
  const w = failingWrites(1)
  const writer = new BatchWriter<number>(w.write, () => {}, { retry: false, lingerMs: 1, retryMs: 1_000, what: 'row' })
  writer.push(1)
  const started = Date.now()
  await writer.close(new AbortController().signal)
  expect(Date.now() - started).toBeLessThan(500)
  expect(w.batches).toEqual([[1]])
})

/** A Postgres lock_timeout refusal (SQLSTATE 55P03), as Bun's driver reports it. */
const lockRefusal = () => Object.assign(new Error('canceling statement due to lock timeout'), { errno: '55P03' })

test('rows refused for a lock by a writer that waits locks out go again at once, each try waiting for the lock, not after a pause', async () => {
  const tries: Array<{ rows: number[]; lockWaitMs: number; at: number }> = []
  let locked = true
  const writer = new BatchWriter<number>(
    async (rows, lockWaitMs) => {
      tries.push({ rows, lockWaitMs, at: Date.now() })
      if (locked) throw lockRefusal()
    },
    () => {},
    { retry: true, lingerMs: 1, retryMs: 500, waitOutLocksMs: 2_750, what: 'row' },
  )
  writer.push(1)
  await until(() => tries.length >= 3)
  locked = false
  await until(() => !writer.keptBackForLock)
  // The first try waits as any background write does; the next ones wait for the lock themselves, back to back.
  expect(tries[0]!.lockWaitMs).toBe(100)
  expect(tries.slice(1).every((t) => t.lockWaitMs === 2_750)).toBe(true)
  expect(tries[2]!.at - tries[0]!.at).toBeLessThan(400)
  expect(writer.keptBackForLock).toBe(false)
  await writer.close(new AbortController().signal)
})

test('rows queued while a batch waits for its table\'s lock join it once the lock is had: one commit, not a batch after it', async () => {
  const batches: number[][] = []
  let waiting = 0
  let grant!: () => void
  const lockGranted = new Promise<void>((resolve) => (grant = resolve))
  const writer = new BatchWriter<number>(
    async (rows, _lockWaitMs, joinQueued) => {
      waiting++
      await lockGranted
      joinQueued()
      batches.push([...rows])
    },
    () => {},
    { retry: true, lingerMs: 1, what: 'row' },
  )
  writer.push(1)
  await until(() => waiting > 0)
  writer.push(2)
  writer.push(3)
  let written = false
  // A caller waiting for rows 2 and 3 (an answer's ids) is answered by that batch.
  const flushed = writer.flushQueued().then(() => (written = true))
  await Bun.sleep(10)
  expect({ waiting, written }).toEqual({ waiting: 1, written: false })
  grant()
  await flushed
  expect(batches).toEqual([[1, 2, 3]])
  await writer.close(new AbortController().signal)
})

test('a caller waiting for its rows until a deadline waits through failures other than a lock: answered once a try lands', async () => {
  let failures = 2
  const tries: number[][] = []
  const written: number[][] = []
  const writer = new BatchWriter<number>(
    async (rows) => {
      tries.push([...rows])
      if (failures-- > 0) throw new Error('Connection closed')
    },
    () => {},
    { retry: true, lingerMs: 1, retryMs: 500, what: 'row', onWritten: (rows) => written.push([...rows]) },
  )
  writer.push(1)
  const started = Date.now()
  await writer.flushQueued(performance.now() + 2_000)
  // Tried again a riders' bound apart, not after the writer's pause of 500 ms, nor given up at the first failure.
  expect(Date.now() - started).toBeLessThan(450)
  expect({ tries, written }).toEqual({ tries: [[1], [1], [1]], written: [[1]] })
  expect(writer.keptBackForLock).toBe(false)
  await writer.close(new AbortController().signal)
})

test('only a failure `lockedOutBy` names keeps rows back for a lock: a row lock timeout is tried again as any failure', async () => {
  const writer = new BatchWriter<number>(
    async () => {
      throw lockRefusal()
    },
    () => {},
    { retry: true, lingerMs: 1, retryMs: 5_000, waitOutLocksMs: 2_750, what: 'row', lockedOutBy: () => false },
  )
  writer.push(1)
  await expect(writer.flushQueued()).rejects.toThrow('lock timeout')
  expect(writer.keptBackForLock).toBe(false)
  expect(writer.unwritten()).toEqual(new Set([1]))
  await writer.close(AbortSignal.timeout(10))
})

test('rows a reservation batch gives back for a lock go on their own at once, and ride again only once they land', async () => {
  const tries: Array<{ rows: number[]; lockWaitMs: number; at: number }> = []
  let locked = true
  const writer = new BatchWriter<number>(
    async (rows, lockWaitMs) => {
      tries.push({ rows, lockWaitMs, at: Date.now() })
      if (locked) throw lockRefusal()
    },
    () => {},
    { retry: true, lingerMs: 1, retryMs: 500, what: 'row' },
  )
  writer.holdBackWhile(() => true) // a reservation batch is always about to carry them
  writer.push(1)
  expect(writer.take()).toEqual([1])
  const givenBack = Date.now()
  writer.putBack([1], lockRefusal())
  writer.push(2)
  // Their own send waits the writer's bound, holding no hold up; the reservation waited only a moment for them.
  await until(() => tries.length >= 1)
  expect(tries[0]).toMatchObject({ rows: [1, 2], lockWaitMs: 100 })
  expect(tries[0]!.at - givenBack).toBeLessThan(250)
  // Refused again: the writer's pause, and no reservation batch carries them into the lock meanwhile.
  writer.push(3)
  expect(writer.take()).toEqual([])
  locked = false
  await until(() => tries.length >= 2)
  expect(tries[1]!.rows).toEqual([1, 2, 3])
  expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(450)
  await until(() => writer.unwritten().size === 0)
  writer.push(4)
  expect(writer.take()).toEqual([4]) // landed: they ride again
  await writer.close(new AbortController().signal)
})

test('rows a transaction left out for a lock it would not wait for (keepFromLock) go on their own at once, and none ride meanwhile', async () => {
  const w = heldWrites()
  const writer = new BatchWriter<number>(w.write, () => {}, { retry: true, lingerMs: 1, what: 'row' })
  writer.holdBackWhile(() => true)
  writer.push(1)
  expect(writer.take()).toEqual([1])
  writer.keepFromLock([1])
  writer.push(2)
  expect(writer.take()).toEqual([])
  await until(() => w.batches.length > 0)
  expect(w.batches[0]).toEqual([1, 2])
  w.finish[0]!()
  await until(() => writer.unwritten().size === 0)
  writer.push(3)
  expect(writer.take()).toEqual([3])
  await writer.close(new AbortController().signal)
})

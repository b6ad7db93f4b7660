/**
 * Mutation guard (src/store/postgres/batch.ts, BatchWriter.writeBatch): a batch Postgres refuses for one row's data
 * (SQLSTATE class 22/23) is written one row at a time, so that "one bad row costs its own row at most, never the
 * ledger" (the class's doc): every other row of the batch (other requests' settlements, whose holds would otherwise
 * be charged in full by the sweeper) is still written. The engine suites with refused rows (postgres-nul-writes,
 * nul-characters, refused-log on Postgres) only ever put the bad row first or alone, so a writeBatch that writes the
 * first row alone and drops the rest of the batch went unnoticed.
 *
 * Kills the mutant in writeBatch's catch:
 *   `await this.writeEach(left, lockWaitMs)`  →  `await this.writeEach({ rows: left.rows.splice(0, 1) }, lockWaitMs); left.rows.length = 0`
 */
import { expect, test } from 'bun:test'
import { BatchWriter, droppedRows } from '../../src/store/postgres/batch'

const refused = () => Object.assign(new Error('invalid input syntax'), { errno: '22P02' })

for (const order of [['bad', 'a', 'b', 'c'], ['a', 'bad', 'b', 'c'], ['a', 'b', 'c', 'bad']])
  test(`a batch refused for one row's data (${order.join(', ')}) writes every other row, and drops only that one`, async () => {
    const written: string[] = []
    const errors: string[] = []
    const dropped = droppedRows.count
    const writer = new BatchWriter<string>(
      async (rows) => {
        if (rows.includes('bad')) throw refused()
        written.push(...rows)
      },
      (e) => errors.push(String((e as Error).message)),
      { retry: true, what: 'settlement' },
    )
    for (const row of order) writer.push(row)
    await writer.flush()
    expect({ written: written.sort(), dropped: droppedRows.count - dropped }).toEqual({ written: ['a', 'b', 'c'], dropped: 1 })
    expect(errors.some((e) => e.includes('dropped'))).toBe(true)
  })

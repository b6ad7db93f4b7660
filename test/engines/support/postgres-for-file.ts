import { afterAll, beforeAll } from 'bun:test'
import { startPostgres, type TestPostgres } from './postgres'

/** For a test file: a Postgres started before its tests and destroyed after them; its databases made by `database`. */
export function postgresForFile(): Pick<TestPostgres, 'database' | 'port'> {
  let pg: TestPostgres | undefined
  beforeAll(async () => {
    pg = await startPostgres()
  })
  afterAll(async () => {
    await pg?.destroy()
  })
  return {
    database: (name) => pg!.database(name),
    get port() {
      return pg!.port
    },
  }
}

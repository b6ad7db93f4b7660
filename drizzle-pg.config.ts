import { defineConfig } from 'drizzle-kit'

/** The Postgres store's migrations (TOLLGATE_DATABASE_URL=postgres://…); SQLite's are in drizzle.config.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/postgres/schema.ts',
  out: './drizzle-pg',
})

#!/usr/bin/env bun
/**
 * `tollgate` — one entry for the gateway and its admin CLI. With no command (or `serve`) it runs the
 * gateway, as `npm start` and the container do; `migrate` copies a SQLite install to Postgres; any other
 * command talks to a running gateway's admin API.
 * Each is loaded only when asked for: the server never loads the CLI (nor its price catalog).
 */
const [command = 'serve', ...rest] = process.argv.slice(2)
if (command === 'serve' && rest.length > 0) {
  // Refused, never ignored: `serve --port 9` must not start on the configured port as if nothing were asked.
  console.error(
    `unexpected argument ${JSON.stringify(rest[0])}: tollgate serve takes none; its settings come from TOLLGATE_* ` +
      'variables (TOLLGATE_PORT, TOLLGATE_DB…) and the TOLLGATE_CONFIG file\nusage: tollgate [serve]',
  )
  process.exitCode = 2
} else if (command === 'serve') await import('./cli/serve')
else if (command === 'migrate') {
  const { runMigrate } = await import('./cli/migrate')
  process.exitCode = await runMigrate(rest)
} else {
  const { runCli } = await import('./cli/main')
  process.exitCode = await runCli(command, rest)
}

export {}

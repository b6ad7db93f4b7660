#!/usr/bin/env bun
/**
 * `tollgate` — one entry for the gateway and its admin CLI. With no command (or `serve`) it runs the
 * gateway, as `npm start` and the container do; any other command talks to a running gateway's admin API.
 */
import { runCli } from './cli/main'

const [command = 'serve', ...rest] = process.argv.slice(2)
if (command === 'serve') await import('./cli/serve')
else process.exitCode = await runCli(command, rest)

import { AdminApiError, adminApi, type AdminApi } from './admin-api'
import { parseArgs, UsageError } from './args'
import { MIGRATE_USAGE } from './migrate'
import { commands, type Shown } from './commands'
import { printable, printableJson, renderRecord, renderTable } from './table'

const SWITCHES = new Set(['json', 'all', 'help', 'apply', 'allow-unbilled', 'allow-free'])
/** Switches every command takes; the others only where its usage names them. */
const GLOBAL_SWITCHES = new Set(['json', 'help'])

/** Runs one admin command against the gateway at TOLLGATE_URL; returns the process exit code. */
export async function runCli(group: string, argv: string[], env = process.env): Promise<number> {
  if (group === 'help' || group === '--help' || group === '-h') return answer(help())
  const [action, ...rest] = argv
  const actions = Object.hasOwn(commands, group) ? commands[group] : undefined
  const command = actions && Object.hasOwn(actions, action ?? '') ? actions[action ?? ''] : undefined
  if (!command) return complain(`${actions ? `unknown ${group} command ${JSON.stringify(action ?? '')}` : `unknown command ${JSON.stringify(group)}`}\n\n${help()}`, 2)
  try {
    const args = parseArgs(rest, SWITCHES)
    if (args.switches.has('help')) return answer(`usage: tollgate ${command.usage}\n  ${command.summary}`)
    // A switch the command does not take is a mistake, never ignored (`users delete X --apply` must not delete X).
    for (const s of args.switches) if (!GLOBAL_SWITCHES.has(s) && !new RegExp(`--${s}(?![\\w-])`).test(command.usage)) throw new UsageError(`unknown option --${s}`)
    const shown = await command.run(onFirstCall(() => adminApi(env)), args)
    const code = await answer(args.switches.has('json') ? printableJson(shown.json) : render(shown), 'lost' in shown ? shown.lost : undefined)
    if (code !== 0) return code
    return 'error' in shown && shown.error ? complain(`tollgate: ${printable(shown.error)}`, 1) : 0
  } catch (error) {
    if (error instanceof UsageError) return complain(`${error.message}\nusage: tollgate ${command.usage}`, 2)
    if (error instanceof AdminApiError) return complain(`tollgate: ${printable(error.message)}`, 1)
    throw error
  }
}

/**
 * The admin API, its settings (the master key) read at the first call, once the command has read its arguments: a
 * mistake on the command line is exit 2 whether the key is set or not, never hidden behind "not set" (exit 1).
 */
function onFirstCall(open: () => AdminApi): AdminApi {
  let api: AdminApi | undefined
  const opened = () => (api ??= open())
  return {
    call: (...a) => opened().call(...a),
    page: (...a) => opened().page(...a),
    list: (...a) => opened().list(...a),
  }
}

function render(shown: Shown): string {
  if ('table' in shown) return (shown.table.length ? renderTable(shown.table, shown.columns) : '(none)') + (shown.footer ? `\n\n${printableLines(shown.footer)}` : '')
  return renderRecord(shown.record) + (shown.note ? `\n\n${printableLines(shown.note)}` : '')
}

/** Notes name what the API returned (a model a key holder asked for): each line printable, the line breaks kept. */
const printableLines = (text: string) => text.split('\n').map(printable).join('\n')

/**
 * Prints the answer on stdout: 0, or 1 if it could not be written (a full disk, a closed pipe), saying so on stderr,
 * with `lost` (what the answer's loss leaves behind: a live key whose secret no one saw). console.log drops a failed
 * write, and a script (`tollgate keys create … > key.json || exit 1`) would go on as if it had its answer.
 */
async function answer(text: string, lost?: string): Promise<number> {
  const failure = await write(Bun.stdout, text)
  if (failure === null) return 0
  return complain(`tollgate: the answer could not be written to stdout (${failure})${lost ? `: ${printable(lost)}` : ''}`, 1)
}

async function complain(text: string, code: number): Promise<number> {
  await write(Bun.stderr, text)
  return code
}

/** null once `text` is written whole; else why not. Bun.write rejects on ENOSPC and EPIPE (console.log and a
 * process.stdout.write without an 'error' listener do not report them, or crash the process). */
async function write(to: typeof Bun.stdout, text: string): Promise<string | null> {
  try {
    await Bun.write(to, `${text}\n`)
    return null
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error)
  }
}

function help(): string {
  const lines = Object.values(commands).flatMap((group) => Object.values(group).map((c) => `  tollgate ${c.usage}\n      ${c.summary}`))
  return [
    'usage: tollgate [serve]            run the gateway (the default)',
    '       tollgate <command> [--json]  talk to a running gateway\'s admin API',
    '',
    'The admin commands read TOLLGATE_URL (default http://127.0.0.1:$TOLLGATE_PORT, port 8080) and',
    'TOLLGATE_MASTER_KEY from the environment; each call waits TOLLGATE_CLI_TIMEOUT_MS (default 30000) at most.',
    'Lists show one page; --all follows every page.',
    'A time T (--since, --until, --expires) is an ISO date or date and time, UTC unless it names an offset',
    '(2026-03-01, 2026-03-01T09:30, 2026-03-01T09:30+01:00), as every day in the records is a UTC day.',
    'none clears an option (--budget none: no limit); a key\'s --models is a list, all (every model) or none (no model).',
    '',
    ...lines,
    `  tollgate ${MIGRATE_USAGE.replace(/^usage: tollgate /, '').replace(/ +\(default .*$/, '')}`,
    '      copy a stopped SQLite install, every row, into an empty Postgres database (reads the file, not the API)',
  ].join('\n')
}

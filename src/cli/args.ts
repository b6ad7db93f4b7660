/** Command-line arguments: positionals, and `--flag value` / `--flag=value` options. */
export interface Args {
  positional: string[]
  options: Map<string, string>
  /** Switches: options that take no value (`--json`, `--all`). */
  switches: Set<string>
}

export class UsageError extends Error {}

/**
 * `switchNames` are the options that take no value; every other option needs one. An option given twice is
 * refused, never settled by taking one of them (`--budget 5 --budget 500` must not make a $500 ceiling).
 */
export function parseArgs(argv: string[], switchNames: ReadonlySet<string>): Args {
  const args: Args = { positional: [], options: new Map(), switches: new Set() }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) {
      args.positional.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    if (args.options.has(name) || args.switches.has(name)) throw new UsageError(`--${name} given twice`)
    if (switchNames.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      args.switches.add(name)
      continue
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    args.options.set(name, value)
  }
  return args
}

/** A command that names nothing: an argument there is a mistake (`keys list team-a` for `--user team-a`), not ignored. */
export function noArguments(args: Args): void {
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`)
}

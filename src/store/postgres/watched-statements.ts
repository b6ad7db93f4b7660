import type { SQL } from 'bun'

/** A statement as Bun.SQL sends it: it can be cancelled (Bun asks Postgres to stop it, on a connection of its own). */
export type Statement = ReturnType<SQL['unsafe']>

/**
 * `sql`, whose transactions' statements (drizzle sends each through `unsafe`) are each handed to `sent` as they are
 * sent: whoever gives up on the transaction can cancel what it is running.
 */
export function watchingStatements(sql: SQL, sent: (statement: Statement) => void): SQL {
  const watched = (tx: SQL) =>
    new Proxy(tx, {
      get: (target, prop) => {
        if (prop === 'unsafe')
          return (...args: Parameters<SQL['unsafe']>) => {
            const statement = target.unsafe(...args)
            sent(statement)
            return statement
          }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  return new Proxy(sql, {
    get: (target, prop) => {
      if (prop !== 'begin') return Reflect.get(target, prop, target)
      return (...args: unknown[]) => {
        const body = args.pop() as (tx: SQL) => unknown
        return (target.begin as (...a: unknown[]) => Promise<unknown>)(...args, (tx: SQL) => body(watched(tx)))
      }
    },
  })
}

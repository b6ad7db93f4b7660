/**
 * Set by a TOLLGATE_WORKERS group's primary on each process it starts (to the primary's pid): that process
 * shares the group's port and takes no port lock of its own — the primary holds it for the group.
 */
export const WORKER_ENV = 'TOLLGATE_WORKER_OF'

export const isWorker = (env: Record<string, string | undefined> = process.env) => env[WORKER_ENV] !== undefined

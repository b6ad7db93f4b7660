/** A provider on a loopback port that takes each request's body whole, counts it, then answers with `answer`. */
export interface CountingUpstream {
  /** `up`, an OpenAI-type provider pointing at it, for a gateway's config. */
  providers: Record<string, unknown>
  /** How many requests it has taken. */
  calls(): number
  stop(): void
}

export function startCountingUpstream(answer: () => Response | Promise<Response>): CountingUpstream {
  let calls = 0
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, idleTimeout: 0, fetch: async (req) => (await req.arrayBuffer(), calls++, answer()) })
  return {
    providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${server.port}/v1`, api_key: 'sk-up-0123456789abcdef' } },
    calls: () => calls,
    stop: () => server.stop(true),
  }
}

/** A provider on loopback that answers every call with the same JSON bytes: `wire`, set before the calls. */
export function fixedJsonProvider(): { wire: Uint8Array; server: Bun.Server<undefined> } {
  let wire = new Uint8Array()
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req): Promise<Response> {
      await req.text()
      return new Response(wire, { headers: { 'content-type': 'application/json' } })
    },
  })
  return {
    get wire() {
      return wire
    },
    set wire(bytes) {
      wire = bytes
    },
    server,
  }
}

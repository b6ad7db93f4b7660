/**
 * For the transcription tests: a provider (`up`, OpenAI type) that takes each file whole and works on it for `workMs`
 * (Whisper takes tens of seconds on 25 MB of audio; 0: it answers at once), a spawned gateway in front of it
 * (`up:whisper-1` at `perRequest` USD a request, `config` over that) with a key for each user, started before the
 * file's tests and stopped after them; the forms sent to it, and 24 MB transcriptions sent one after another while
 * the gateway's RSS is sampled.
 */
import { afterAll, beforeAll } from 'bun:test'
import { startCountingUpstream } from './counting-upstream'
import { spawnGateway, type SpawnedGateway } from './gateway'
import { rssMb } from './peak-rss'

export const FILE_BYTES = 24_000_000

export interface TranscriberGateway {
  gw: SpawnedGateway
  /** One key's secret per user, in order. */
  secrets: string[]
  /** How many files the provider has taken. */
  received(): number
}

export interface TranscriberOptions {
  workMs?: number
  perRequest: number
  users: Array<{ id: string; max_budget: number }>
  config?: Record<string, unknown>
}

export function withTranscriberGateway(o: TranscriberOptions, use: (started: TranscriberGateway) => void): void {
  const upstream = startCountingUpstream(async () => {
    if (o.workMs) await Bun.sleep(o.workMs)
    return Response.json({ text: 'hello' })
  })
  let gw: SpawnedGateway | undefined
  beforeAll(async () => {
    gw = await spawnGateway({
      config: {
        ...o.config,
        providers: upstream.providers,
        pricing: { 'up:whisper-1': { input_per_million: 0, output_per_million: 0, per_request: o.perRequest } },
      },
    })
    const secrets: string[] = []
    for (const user of o.users) secrets.push((await gw.userWithKey(user)).secret)
    use({ gw, secrets, received: upstream.calls })
  }, 60_000)
  afterAll(async () => {
    await gw?.stop()
    upstream.stop()
  })
}

/** A transcription form: its model and a file, then `fields` empty fields, each named apart (`k0`, `k1`, ...). */
export function manyFieldForm(fields: number, boundary = 'b'): Uint8Array {
  const parts = [
    `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nup:whisper-1\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\nContent-Type: audio/mpeg\r\n\r\nID3xxxx\r\n`,
  ]
  for (let i = 0; i < fields; i++) parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="k${i}"\r\n\r\n\r\n`)
  parts.push(`--${boundary}--\r\n`)
  return new TextEncoder().encode(parts.join(''))
}

/**
 * One 24 MB transcription per secret in `secrets`, each sent only once the last has reached the provider (or was
 * answered): each is read alone, within the read budget. After the last, `settleMs` for the provider to take it.
 * The gateway's RSS before and at its peak (MB), how many files had reached the provider then, every status.
 */
export async function transcriptionsInTurn(started: TranscriberGateway, secrets: string[], settleMs: number) {
  const { gw } = started
  const audio = new Uint8Array(FILE_BYTES)
  audio.set(new TextEncoder().encode('RIFF\0\0\0\0WAVE'))
  const before = rssMb(gw.proc.pid)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw.proc.pid))), 50)
  const answers: Array<Promise<number>> = []
  for (const [i, secret] of secrets.entries()) {
    const form = new FormData()
    form.append('model', 'up:whisper-1')
    form.append('file', new File([audio], `call-${i}.wav`, { type: 'audio/wav' }))
    let answered = false
    answers.push(
      fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
        .then(async (r) => (await r.arrayBuffer(), r.status))
        .catch(() => 0)
        .finally(() => (answered = true)),
    )
    const deadline = Date.now() + 20_000
    while (started.received() <= i && !answered && Date.now() < deadline) await Bun.sleep(20)
  }
  await Bun.sleep(settleMs)
  const inFlight = started.received()
  const statuses = await Promise.all(answers)
  clearInterval(sampler)
  return { before, peak, inFlight, statuses }
}

/**
 * A transcription's body (a 24 MB file, and the form rebuilt for the provider) lives until the provider answers,
 * which for Whisper on a 25 MB file is tens of seconds. The body read budget (64 MiB, a quarter per caller) counts
 * such a body until its request's answer is over, not only while it is read: one key sending a dozen of them, each
 * after the last has reached the provider, has one in flight and the rest refused 503 `body_read_busy`, and the
 * gateway stays under the 200 MB ceiling the README and slow-bodies-memory.alone.test.ts hold it to.
 */
import { expect, test } from 'bun:test'
import { FILE_BYTES, transcriptionsInTurn, withTranscriberGateway, type TranscriberGateway } from './support/transcriber-gateway'

const BODIES = 12
const CEILING_MB = 200
/** How long the provider works on each file (Whisper takes tens of seconds on 25 MB of audio). */
const PROVIDER_WORK_MS = 15_000

let started: TranscriberGateway
withTranscriberGateway({ workMs: PROVIDER_WORK_MS, perRequest: 0.001, users: [{ id: 'transcription-bodies-in-flight', max_budget: 1 }] }, (s) => (started = s))

test('transcriptions waiting on the provider do not pin the gateway past its memory ceiling', async () => {
  // One key's dozen, the next only once this one has reached the provider (or was refused).
  const { before, peak, inFlight, statuses } = await transcriptionsInTurn(started, Array(BODIES).fill(started.secrets[0]), 500)
  console.log(`${inFlight} transcriptions of ${FILE_BYTES / 1e6} MB reached the provider: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; statuses ${statuses.join(',')}`)
  expect(peak).toBeLessThan(CEILING_MB)
  expect(statuses[0]).toBe(200)
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
}, 120_000)

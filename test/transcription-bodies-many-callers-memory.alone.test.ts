/**
 * What is parsed from a body lives about four times its size in the gateway's memory for the whole provider call, so
 * bodies in flight are counted at their memory, not their bytes. Counted at their bytes (128 MiB of them, a quarter
 * per caller), five keys with one 24 MB transcription each waiting on Whisper were all admitted, and the gateway
 * peaked past 400 MB. Now the rest are refused 503 `body_read_busy` and the gateway stays under the 200 MB ceiling
 * the README and transcription-bodies-in-flight-memory.alone.test.ts hold it to, however many callers share it.
 */
import { expect, test } from 'bun:test'
import { FILE_BYTES, transcriptionsInTurn, withTranscriberGateway, type TranscriberGateway } from './support/transcriber-gateway'

const CALLERS = 5
const CEILING_MB = 200
const PROVIDER_WORK_MS = 12_000

let started: TranscriberGateway
withTranscriberGateway({ workMs: PROVIDER_WORK_MS, perRequest: 0.001, users: Array.from({ length: CALLERS }, (_, i) => ({ id: `many-callers-${i}`, max_budget: 1 })) }, (s) => (started = s))

test('one transcription in flight for each of a few keys does not take the gateway past its memory ceiling', async () => {
  // One for each key, each read alone (within the read budget), once the last has reached the provider.
  const { before, peak, inFlight, statuses } = await transcriptionsInTurn(started, started.secrets, 1000)
  console.log(`${inFlight} transcriptions of ${FILE_BYTES / 1e6} MB from ${CALLERS} keys in flight at once: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; statuses ${statuses.join(',')}`)
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)

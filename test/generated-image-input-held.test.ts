import { expect, test } from 'bun:test'
import { estimateResponses, responsesItemInputTokens } from '../src/budget/estimate'

/**
 * README (Responses API): a generated image sent back (an `image_generation_call`'s `result`) "was made by the image
 * tool, billed per image, and is read again as this one's image input", "held as an inline image is: at least the
 * media bound" (its bytes if more). Guards `responsesItemTokens`' generated-image term (src/budget/estimate.ts).
 */
const MEDIA = 1000
const o = { defaultMaxOutputTokens: 500, mediaPartTokens: MEDIA }
const small = { id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' }
const large = { ...small, result: 'A'.repeat(400_000) }

test('an image_generation_call sent back as input counts as an inline image: the media bound, its bytes if more', () => {
  const text = estimateResponses({ input: [{ role: 'user', content: 'make it bluer' }] }, o).inputTokens
  const withSmall = estimateResponses({ input: [small, { role: 'user', content: 'make it bluer' }] }, o)
  const withLarge = estimateResponses({ input: [large, { role: 'user', content: 'make it bluer' }] }, o)
  expect(withSmall.inputTokens - text).toBeGreaterThanOrEqual(MEDIA)
  expect(withLarge.inputTokens - text).toBeGreaterThanOrEqual(400_000)
  expect(withSmall.boundsInput).toBe(false)
  expect(responsesItemInputTokens(large, o)).toBeGreaterThanOrEqual(400_000)
})

/** The token counter's thread (src/metering/tokenizer-worker.ts), which ends at once on the text `die`. */
import '../../src/metering/tokenizer-worker'

declare const self: Worker

const count = self.onmessage!
self.onmessage = (event: MessageEvent<{ texts?: string[] }>) => {
  if (event.data.texts?.includes('die')) process.exit(1)
  count.call(self, event)
}

import { expect, test } from 'bun:test'
import { LargeAnswerTurn } from '../src/providers/large-answer-turn'

test('a large answer waits for the one before it to give its turn back; one never taken holds nothing', async () => {
  const order: string[] = []
  const first = new LargeAnswerTurn()
  await first.take()
  const idle = new LargeAnswerTurn()
  idle[Symbol.dispose]()
  const second = new LargeAnswerTurn()
  const waiting = second.take().then(() => order.push('second'))
  await Bun.sleep(20)
  expect(order).toEqual([])
  order.push('first done')
  first[Symbol.dispose]()
  await waiting
  expect(order).toEqual(['first done', 'second'])
  second[Symbol.dispose]()
  const third = new LargeAnswerTurn()
  await third.take()
  third[Symbol.dispose]()
})

/**
 * The usage CSV is opened in spreadsheets: a text cell one would run as a formula is prefixed with ' (README,
 * "Content"). Some spreadsheets also take the full-width ＝ ＋ － ＠ as a formula's start, and some skip whitespace
 * before it.
 */
import { expect, test } from 'bun:test'
import { csvLine } from '../src/records/csv-line'

const cellOf = (value: unknown) => csvLine({ value }).slice(0, -2)

test('a text cell starting a formula, in full-width or after whitespace, stays text', () => {
  const formulas = [
    '=HYPERLINK("http://x","y")', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1',
    '＝HYPERLINK("http://x","y")', '＋1', '－1', '＠SUM(A1)',
    ' =1+1', '  @SUM(A1)', '\t-1', '\u00a0=1', '\u3000＝1', '\n=1',
  ]
  const unguarded = formulas.filter((f) => !cellOf(f).replace(/^"/, '').startsWith("'"))
  expect(unguarded).toEqual([])
})

test('other cells are as they were: numbers, plain text, quoting', () => {
  expect(cellOf(-1)).toBe('-1')
  expect(cellOf('mock:gpt-mock')).toBe('mock:gpt-mock')
  expect(cellOf('a=b')).toBe('a=b')
  expect(cellOf(' a')).toBe(' a')
  expect(cellOf('=1')).toBe(`"'=1"`)
  expect(cellOf('say "hi", then')).toBe('"say ""hi"", then"')
  expect(cellOf(null)).toBe('')
  expect(cellOf({ web_search: 2 })).toBe('"{""web_search"":2}"')
})

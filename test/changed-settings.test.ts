/**
 * README (Users, Keys): "An edit sends only the settings the operator
 * changed ... a setting left alone stays exactly as stored"; Prices: "a field the operator empties is unset".
 * `changedSettings` (ui/src/changed-settings.ts) is what every edit form sends; no test imported it, so a refactor
 * that sends every field (undoing another admin's budget change), compares arrays by identity (every edit resends
 * allowed_models), or drops an emptied field (a budget emptied to "unlimited", a price field emptied to unset, never
 * sent) passed every cheap test.
 */
import { expect, test } from 'bun:test'
import { changedSettings } from '../ui/src/changed-settings'
import { typedNumber } from '../ui/src/typed-number'

// A form's fields as text, and the API settings read from them, as the key form reads them.
interface Fields { name: string; budget: string; models: string }
const settingsOf = (f: Fields) => ({
  name: f.name || null,
  max_budget: typedNumber('Budget', f.budget),
  allowed_models: f.models === '' ? null : f.models.split(',').map((m) => m.trim()),
})
const shown: Fields = { name: 'ci', budget: '100', models: 'mock:a, mock:b' }

test('a field left as shown is not sent: renaming sends only the name', () => {
  expect(changedSettings(shown, { ...shown, name: 'ci-2' }, settingsOf)).toEqual({ name: 'ci-2' })
})

test('nothing changed sends nothing (a list setting read again is equal by value, not by identity)', () => {
  expect(changedSettings(shown, { ...shown }, settingsOf)).toEqual({})
})

test('an emptied budget is sent as null (unlimited / unset), not left out and not 0', () => {
  expect(changedSettings(shown, { ...shown, budget: '' }, settingsOf)).toEqual({ max_budget: null })
  expect(changedSettings({ ...shown, budget: '' }, { ...shown, budget: '0' }, settingsOf)).toEqual({ max_budget: 0 })
})

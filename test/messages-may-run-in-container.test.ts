import { expect, test } from 'bun:test'
import { mayRunInContainer } from '../src/translate/anthropic-containers'

/**
 * A Messages request whose answer may run in a container, which the gateway records before the client gets it: such a
 * request is refused before its provider call while this replica's stored ids are kept back by a lock
 * (test/engines/messages-container-kept-back.engine.ts). Any other is served as usual meanwhile.
 */
const messages = [{ role: 'user', content: 'hi' }]
const codeExecution = { type: 'code_execution_20250825', name: 'code_execution' }
// A tool defined in the conversation (the inline-tools beta), offered as one in `tools` is.
const addition = (definition: unknown) => ({ type: 'tool_addition', tool: { type: 'tool_definition', definition } })
const said = (...blocks: unknown[]) => [{ role: 'user', content: [{ type: 'text', text: 'hi' }, ...blocks] }]

test.each([
  ['code execution offered', { messages, tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }, true],
  ['the older code execution', { messages, tools: [{ name: 'f', input_schema: {} }, { type: 'code_execution_20250522', name: 'code_execution' }] }, true],
  ['a container named by id', { messages, container: 'container_1' }, true],
  ['skills for a new container', { messages, container: { skills: [{ type: 'anthropic', skill_id: 'pptx', version: 'latest' }] } }, true],
  ['web search filtering its results in code', { messages, tools: [{ type: 'web_search_20260209', name: 'web_search' }] }, true],
  ['web fetch filtering its results in code', { messages, tools: [{ type: 'web_fetch_20260209', name: 'web_fetch' }] }, true],
  ['web search without filtering', { messages, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, false],
  ['a client tool named like code execution', { messages, tools: [{ name: 'code_execution_20250825', input_schema: {} }] }, false],
  ['code execution defined in system', { messages, system: [addition(codeExecution)] }, true],
  ['code execution defined in a message', { messages: said(addition(codeExecution)) }, true],
  ['code execution defined in a compaction block\'s tool changes', { messages: said({ type: 'compaction', content: 'earlier', tool_changes: [addition(codeExecution)] }) }, true],
  ['web search filtering its results in code, defined in a message', { messages: said(addition({ type: 'web_search_20260209', name: 'web_search' })) }, true],
  ['a client tool defined in a message', { messages: said(addition({ name: 'f', input_schema: {} })) }, false],
  ['no tools', { messages }, false],
  ['a null container', { messages, container: null }, false],
] as const)('%s: %p', (_, body, expected) => {
  expect(mayRunInContainer(body)).toBe(expected)
})

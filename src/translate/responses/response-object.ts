type Json = Record<string, any>

/** What a translated response repeats of its request, as OpenAI's response objects do. */
export function requestEcho(body: Json): Json {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    temperature: body.temperature ?? null,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools.filter((t: Json) => t?.type === 'function' || t?.type === 'namespace') : [],
    top_p: body.top_p ?? null,
  }
}

interface ResponseState {
  id: string
  model: string
  createdAt: number
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed'
  output: Json[]
  usage: Json | null
  incompleteReason?: string | null
  error?: { code: string; message: string } | null
}

/** A whole response object; a translated target stores nothing (`store: false`, no previous response). */
export function responseObject(echo: Json, s: ResponseState): Json {
  return {
    id: s.id,
    object: 'response',
    created_at: s.createdAt,
    status: s.status,
    background: false,
    error: s.error ?? null,
    incomplete_details: s.incompleteReason ? { reason: s.incompleteReason } : null,
    model: s.model,
    output: s.output,
    previous_response_id: null,
    store: false,
    truncation: 'disabled',
    usage: s.usage,
    ...echo,
  }
}

/** Usage in the Responses shape: cached tokens inside input, reasoning inside output (0 where the target does not count it apart). */
export function responsesUsageShape(input: number, cached: number, output: number, reasoning = 0): Json {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  }
}

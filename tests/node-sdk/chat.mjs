// One chat completion through the official OpenAI Node SDK, printed as a JSON summary on stdout (driven by
// tests/AiGateway.IntegrationTests/Unified/NodeSdkTests.cs, usable by hand too):
//
//   AIGW_KEY=sk-... node chat.mjs <base-url> <model> <mode>
//
// base URL, model and mode may also come from AIGW_BASE_URL, AIGW_MODEL, AIGW_MODE; the key only from AIGW_KEY
// (or OPENAI_API_KEY), so that it never shows in a process list. Modes:
//   json          non-streaming, the get_weather tool offered, a conversation that already holds two tool results
//   stream        streaming text ("hi", no tools), usage chunk requested
//   tools-stream  streaming with the get_weather tool offered, usage chunk requested
// Exit code 0 with the summary, 1 with the SDK's error on stderr, 2 on bad arguments.
import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const [baseURL = process.env.AIGW_BASE_URL, model = process.env.AIGW_MODEL, mode = process.env.AIGW_MODE ?? 'json'] = process.argv.slice(2);
const apiKey = process.env.AIGW_KEY ?? process.env.OPENAI_API_KEY;
if (!baseURL || !model || !apiKey || !['json', 'stream', 'tools-stream'].includes(mode)) {
  console.error('usage: AIGW_KEY=<key> node chat.mjs <base-url> <model> <json|stream|tools-stream>');
  process.exit(2);
}

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  },
};

// The same conversation as UnifiedEndpointTests.ConversationWithToolResults: two parallel calls and their results.
const conversationWithToolResults = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Weather in Paris and Rome?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'call_p', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_r', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_p', content: '18C' },
  { role: 'tool', tool_call_id: 'call_r', content: '21C' },
  { role: 'user', content: 'And Zürich?' },
];

// No retries: a retried call would be a second charge the test does not expect, and a failure must show as one.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });

function usageOf(usage) {
  if (!usage) return null;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? null,
    reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? null,
  };
}

async function json() {
  const { data, response } = await client.chat.completions
    .create({ model, messages: conversationWithToolResults, tools: [weather] })
    .withResponse();
  const choice = data.choices[0];
  return {
    requestId: response.headers.get('x-request-id'),
    creditsCharged: response.headers.get('x-credits-charged'),
    object: data.object,
    finishReason: choice.finish_reason,
    text: choice.message.content ?? '',
    toolCalls: (choice.message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
    usage: usageOf(data.usage),
  };
}

async function stream(withTools) {
  const { data: chunks, response } = await client.chat.completions
    .create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      ...(withTools ? { tools: [weather] } : {}),
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  let text = '';
  let finishReason = null;
  let usage = null;
  let count = 0;
  const objects = new Set();
  const calls = new Map(); // by the delta's index: id and name come once, arguments in pieces
  for await (const chunk of chunks) {
    count++;
    objects.add(chunk.object);
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      text += choice.delta?.content ?? '';
      finishReason = choice.finish_reason ?? finishReason;
      for (const call of choice.delta?.tool_calls ?? []) {
        const entry = calls.get(call.index) ?? { id: null, name: null, arguments: '' };
        entry.id ??= call.id ?? null;
        entry.name ??= call.function?.name ?? null;
        entry.arguments += call.function?.arguments ?? '';
        calls.set(call.index, entry);
      }
    }
  }
  return {
    requestId: response.headers.get('x-request-id'),
    object: [...objects].join(','),
    chunks: count,
    finishReason,
    text,
    toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c),
    usage: usageOf(usage),
  };
}

try {
  const summary = mode === 'json' ? await json() : await stream(mode === 'tools-stream');
  process.stdout.write(JSON.stringify({ sdk: `openai-node ${VERSION}`, mode, model, ...summary }) + '\n');
} catch (error) {
  // The SDK's error (status and the gateway's OpenAI-shaped message); never the key.
  console.error(`${error?.constructor?.name ?? 'Error'}: ${error?.status ?? ''} ${error?.message ?? error}`);
  process.exit(1);
}

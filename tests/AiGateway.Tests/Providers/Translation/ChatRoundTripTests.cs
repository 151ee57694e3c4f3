using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Tests.Providers.Translation;

/// <summary>
/// Round trip over generated conversations with tools: OpenAI request → provider request → a synthetic provider answer
/// built from that request (the provider "repeats" the conversation's last assistant turn as it received it) → OpenAI
/// response, JSON and streamed. The assistant turn must come back as the client wrote it (text, tool-call ids where the
/// provider carries them, names, arguments), every tool result must reach the provider attached to its call, and the
/// usage must be the provider's numbers in OpenAI's terms. Fixed seed, so a failure names a reproducible case.
/// </summary>
public class ChatRoundTripTests
{
    private const int Cases = 300;

    private sealed record Call(string Id, string Name, JsonObject Arguments);

    private sealed record Turn(string Role, string? Text, List<Call> Calls, string? ToolCallId);

    private sealed record Conversation(string Json, List<Turn> Turns, Turn LastAssistant);

    [Fact]
    public void Anthropic_GeneratedConversations_RoundTrip()
    {
        var random = new Random(16_001);
        for (var n = 0; n < Cases; n++)
        {
            var conversation = Generate(random);
            var (input, cacheRead, cacheWrite, output) = (random.Next(0, 100_000), random.Next(0, 50_000), random.Next(0, 5_000), random.Next(0, 8_000));
            var context = $"case {n}: {conversation.Json}";

            var request = ChatJson.ToAnthropic(conversation.Json);
            CheckAnthropicHistory(conversation, request, context);
            var replayed = LastTurn(request["messages"]!.AsArray(), "assistant")["content"]!.AsArray();
            var response = new JsonObject
            {
                ["id"] = $"msg_{n}", ["type"] = "message", ["role"] = "assistant", ["model"] = "claude-sonnet-4-5-20250929",
                ["content"] = replayed.DeepClone(),
                ["stop_reason"] = conversation.LastAssistant.Calls.Count > 0 ? "tool_use" : "end_turn",
                ["usage"] = new JsonObject { ["input_tokens"] = input, ["cache_read_input_tokens"] = cacheRead, ["cache_creation_input_tokens"] = cacheWrite, ["output_tokens"] = output },
            };
            var expectedUsage = (input + cacheRead + cacheWrite, output, cacheRead, 0);

            var json = JsonNode.Parse(AnthropicChatTranslator.TranslateResponse(Encoding.UTF8.GetBytes(response.ToJsonString()), "x", 1)!)!;
            var message = json["choices"]![0]!["message"]!;
            var calls = (message["tool_calls"]?.AsArray() ?? []).Select(c => ((string)c!["id"]!, (string)c["function"]!["name"]!, (string)c["function"]!["arguments"]!)).ToList();
            CheckAnswer(conversation.LastAssistant, (string?)message["content"], calls, (string?)json["choices"]![0]!["finish_reason"], json["usage"], expectedUsage, idsKept: true, context);

            var folded = ChatJson.Fold(ChatJson.Run(new AnthropicChatStreamTranslator(includeUsage: true, "x", 1), RandomSplits(random, AnthropicEvents(random, response))));
            Assert.True(folded.Done, context);
            CheckAnswer(conversation.LastAssistant, folded.Text, folded.ToolCalls, folded.Finish, folded.Usage, expectedUsage, idsKept: true, context + " (stream)");
        }
    }

    [Fact]
    public void Gemini_GeneratedConversations_RoundTrip()
    {
        var random = new Random(16_002);
        for (var n = 0; n < Cases; n++)
        {
            var conversation = Generate(random);
            var (prompt, cached, candidates, thoughts) = (random.Next(0, 100_000), 0, random.Next(0, 8_000), random.Next(0, 4_000));
            cached = random.Next(0, prompt + 1);
            var context = $"case {n}: {conversation.Json}";

            var (request, _) = ChatJson.ToGemini(conversation.Json);
            CheckGeminiHistory(conversation, request, context);
            var replayed = LastTurn(request["contents"]!.AsArray(), "model")["parts"]!.AsArray();
            var response = new JsonObject
            {
                ["candidates"] = new JsonArray(new JsonObject
                {
                    ["content"] = new JsonObject { ["role"] = "model", ["parts"] = replayed.DeepClone() },
                    ["finishReason"] = "STOP", ["index"] = 0,
                }),
                ["usageMetadata"] = new JsonObject
                {
                    ["promptTokenCount"] = prompt, ["cachedContentTokenCount"] = cached, ["candidatesTokenCount"] = candidates, ["thoughtsTokenCount"] = thoughts,
                },
                ["modelVersion"] = "gemini-2.5-flash", ["responseId"] = $"r{n}",
            };
            var expectedUsage = (prompt, candidates + thoughts, cached, thoughts);

            var json = JsonNode.Parse(GeminiChatTranslator.TranslateResponse(Encoding.UTF8.GetBytes(response.ToJsonString()), "x", 1)!)!;
            var message = json["choices"]![0]!["message"]!;
            var calls = (message["tool_calls"]?.AsArray() ?? []).Select(c => ((string)c!["id"]!, (string)c["function"]!["name"]!, (string)c["function"]!["arguments"]!)).ToList();
            CheckAnswer(conversation.LastAssistant, (string?)message["content"], calls, (string?)json["choices"]![0]!["finish_reason"], json["usage"], expectedUsage, idsKept: false, context);

            var folded = ChatJson.Fold(ChatJson.Run(new GeminiChatStreamTranslator(includeUsage: true, "x", 1), RandomSplits(random, GeminiEvents(random, response))));
            Assert.True(folded.Done, context);
            CheckAnswer(conversation.LastAssistant, folded.Text, folded.ToolCalls, folded.Finish, folded.Usage, expectedUsage, idsKept: false, context + " (stream)");
            // The stream and the JSON answer name the same calls the same way.
            Assert.Equal(calls.Select(c => c.Item1), folded.ToolCalls.Select(c => c.Id));
        }
    }

    private static void CheckAnswer(Turn expected, string? text, List<(string Id, string Name, string Arguments)> calls, string? finish, JsonNode? usage,
        (long Prompt, long Completion, long Cached, long Reasoning) expectedUsage, bool idsKept, string context)
    {
        Assert.True(expected.Text == text, $"text differs: '{text}' for {context}");
        Assert.True(expected.Calls.Count == calls.Count, $"{calls.Count} calls for {context}");
        for (var i = 0; i < calls.Count; i++)
        {
            if (idsKept) Assert.True(expected.Calls[i].Id == calls[i].Id, $"call id {calls[i].Id} for {context}");
            else Assert.False(string.IsNullOrEmpty(calls[i].Id), context);
            Assert.Equal(expected.Calls[i].Name, calls[i].Name);
            Assert.True(JsonNode.DeepEquals(expected.Calls[i].Arguments, JsonNode.Parse(calls[i].Arguments)), $"arguments {calls[i].Arguments} for {context}");
        }
        Assert.Equal(calls.Select(c => c.Id).Distinct().Count(), calls.Count);
        Assert.Equal(expected.Calls.Count > 0 ? "tool_calls" : "stop", finish);
        Assert.NotNull(usage);
        Assert.Equal(expectedUsage.Prompt, (long)usage["prompt_tokens"]!);
        Assert.Equal(expectedUsage.Completion, (long)usage["completion_tokens"]!);
        Assert.Equal(expectedUsage.Prompt + expectedUsage.Completion, (long)usage["total_tokens"]!);
        Assert.Equal(expectedUsage.Cached, (long)usage["prompt_tokens_details"]!["cached_tokens"]!);
        Assert.Equal(expectedUsage.Reasoning, (long)usage["completion_tokens_details"]!["reasoning_tokens"]!);
    }

    /// <summary>Every user text, assistant call and tool result reaches Anthropic in order, results attached to their call ids.</summary>
    private static void CheckAnthropicHistory(Conversation conversation, JsonNode request, string context)
    {
        var blocks = request["messages"]!.AsArray().SelectMany(m => m!["content"]!.AsArray().Select(b => ((string)m["role"]!, b!))).ToList();
        var expected = new List<string>();
        foreach (var turn in conversation.Turns.Where(t => t.Role != "system"))
        {
            if (turn.Role == "tool") expected.Add($"user tool_result {turn.ToolCallId} {turn.Text}");
            else
            {
                var role = turn.Role == "assistant" ? "assistant" : "user";
                if (turn.Text is not null) expected.Add($"{role} text {turn.Text}");
                expected.AddRange(turn.Calls.Select(c => $"assistant tool_use {c.Id} {c.Name} {c.Arguments.ToJsonString()}"));
            }
        }
        var actual = blocks.Select(b => (string)b.Item2["type"]! switch
        {
            "text" => $"{b.Item1} text {(string)b.Item2["text"]!}",
            "tool_result" => $"{b.Item1} tool_result {(string)b.Item2["tool_use_id"]!} {(string)b.Item2["content"]!}",
            "tool_use" => $"{b.Item1} tool_use {(string)b.Item2["id"]!} {(string)b.Item2["name"]!} {b.Item2["input"]!.ToJsonString()}",
            var other => other,
        }).ToList();
        Assert.True(expected.SequenceEqual(actual), $"history differs for {context}\n{string.Join("\n", actual)}");
        var system = conversation.Turns.Where(t => t.Role == "system").Select(t => t.Text).ToList();
        Assert.Equal(system, request["system"]?.AsArray().Select(b => (string?)b!["text"]).ToList() ?? []);
        // Roles alternate, as Anthropic requires.
        var roles = request["messages"]!.AsArray().Select(m => (string)m!["role"]!).ToList();
        Assert.True(roles.Zip(roles.Skip(1)).All(p => p.First != p.Second), context);
    }

    /// <summary>Every user text, call and result reaches Gemini in order; each functionResponse names the call its tool message answered.</summary>
    private static void CheckGeminiHistory(Conversation conversation, JsonNode request, string context)
    {
        var names = conversation.Turns.SelectMany(t => t.Calls).ToDictionary(c => c.Id, c => c.Name);
        var expected = new List<string>();
        foreach (var turn in conversation.Turns.Where(t => t.Role != "system"))
        {
            if (turn.Role == "tool") expected.Add($"user functionResponse {names[turn.ToolCallId!]} {turn.Text}");
            else
            {
                var role = turn.Role == "assistant" ? "model" : "user";
                if (turn.Text is not null) expected.Add($"{role} text {turn.Text}");
                expected.AddRange(turn.Calls.Select(c => $"model functionCall {c.Name} {c.Arguments.ToJsonString()}"));
            }
        }
        var actual = request["contents"]!.AsArray().SelectMany(c => c!["parts"]!.AsArray().Select(p => ((string)c["role"]!, p!))).Select(p =>
            p.Item2["text"] is { } text ? $"{p.Item1} text {(string)text!}"
            : p.Item2["functionCall"] is { } call ? $"{p.Item1} functionCall {(string)call["name"]!} {call["args"]!.ToJsonString()}"
            : p.Item2["functionResponse"] is { } fr ? $"{p.Item1} functionResponse {(string)fr["name"]!} {(string)fr["response"]!["content"]!}"
            : p.Item2.ToJsonString()).ToList();
        Assert.True(expected.SequenceEqual(actual), $"history differs for {context}\n{string.Join("\n", actual)}");
        var roles = request["contents"]!.AsArray().Select(m => (string)m!["role"]!).ToList();
        Assert.True(roles.Zip(roles.Skip(1)).All(p => p.First != p.Second), context);
    }

    private static JsonNode LastTurn(JsonArray messages, string role) => messages.Last(m => (string)m!["role"]! == role)!;

    /// <summary>A conversation: optional system prompt, rounds of user text → assistant text and/or parallel calls → tool results, a final user turn.</summary>
    private static Conversation Generate(Random random)
    {
        var tools = Enumerable.Range(0, random.Next(1, 4)).Select(i => $"tool_{i}_{Word(random)}").ToList();
        var turns = new List<Turn>();
        if (random.Next(3) == 0) turns.Add(new Turn("system", Text(random), [], null));
        Turn? last = null;
        var rounds = random.Next(1, 4);
        for (var r = 0; r < rounds; r++)
        {
            turns.Add(new Turn("user", Text(random), [], null));
            var calls = Enumerable.Range(0, random.Next(4) == 0 ? 0 : random.Next(1, 4))
                .Select(_ => new Call($"call_{random.NextInt64():x}", tools[random.Next(tools.Count)], Arguments(random))).ToList();
            var text = calls.Count == 0 || random.Next(2) == 0 ? Text(random) : null;
            last = new Turn("assistant", text, calls, null);
            turns.Add(last);
            foreach (var call in calls) turns.Add(new Turn("tool", Text(random), [], call.Id));
        }
        turns.Add(new Turn("user", Text(random), [], null));

        var messages = new JsonArray();
        foreach (var turn in turns)
        {
            var message = new JsonObject { ["role"] = turn.Role == "system" && random.Next(2) == 0 ? "developer" : turn.Role };
            if (turn.Text is not null)
                message["content"] = random.Next(2) == 0 ? turn.Text : new JsonArray(new JsonObject { ["type"] = "text", ["text"] = turn.Text });
            else message["content"] = null;
            if (turn.Calls.Count > 0)
                message["tool_calls"] = new JsonArray(turn.Calls.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id, ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments.ToJsonString() },
                }).ToArray());
            if (turn.ToolCallId is not null) message["tool_call_id"] = turn.ToolCallId;
            messages.Add(message);
        }
        var body = new JsonObject
        {
            ["model"] = "m",
            ["messages"] = messages,
            ["tools"] = new JsonArray(tools.Select(t => (JsonNode)new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = t, ["description"] = Text(random),
                    ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"q":{"type":"string"},"n":{"type":["integer","null"]},"tags":{"type":"array","items":{"type":"string"}}},"required":["q"]}"""),
                },
            }).ToArray()),
        };
        if (random.Next(2) == 0) body["tool_choice"] = random.Next(2) == 0 ? "auto" : "required";
        return new Conversation(body.ToJsonString(), turns, last!);
    }

    private static readonly string[] Pieces = ["hello", "wörld", "你好", "🙂", "\"quoted\"", "back\\slash", "new\nline", "tab\t", "{json}", "</script>", "a", " "];

    private static string Text(Random random) => string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => Pieces[random.Next(Pieces.Length)]));

    private static string Word(Random random) => new(Enumerable.Range(0, random.Next(3, 8)).Select(_ => (char)('a' + random.Next(26))).ToArray());

    private static JsonObject Arguments(Random random)
    {
        var args = new JsonObject { ["q"] = Text(random) };
        if (random.Next(2) == 0) args["n"] = random.Next(2) == 0 ? null : random.Next(-1000, 1000);
        if (random.Next(2) == 0) args["tags"] = new JsonArray(Enumerable.Range(0, random.Next(0, 3)).Select(_ => (JsonNode)Text(random)).ToArray());
        if (random.Next(4) == 0) args["nested"] = new JsonObject { ["deep"] = new JsonObject { ["x"] = 1.5, ["ok"] = true } };
        return args;
    }

    /// <summary>The Anthropic event stream of a Messages response: text and argument JSON cut into random deltas.</summary>
    private static string AnthropicEvents(Random random, JsonObject response)
    {
        var sse = new StringBuilder();
        void Event(string type, JsonObject data) => sse.Append("event: ").Append(type).Append('\n').Append("data: ").Append(data.ToJsonString()).Append("\n\n");
        var usage = response["usage"]!;
        Event("message_start", new JsonObject
        {
            ["type"] = "message_start",
            ["message"] = new JsonObject
            {
                ["id"] = response["id"]!.DeepClone(), ["model"] = response["model"]!.DeepClone(), ["content"] = new JsonArray(),
                ["usage"] = new JsonObject
                {
                    ["input_tokens"] = usage["input_tokens"]!.DeepClone(), ["cache_read_input_tokens"] = usage["cache_read_input_tokens"]!.DeepClone(),
                    ["cache_creation_input_tokens"] = usage["cache_creation_input_tokens"]!.DeepClone(), ["output_tokens"] = 1,
                },
            },
        });
        var index = 0;
        foreach (var block in response["content"]!.AsArray())
        {
            var type = (string)block!["type"]!;
            if (random.Next(3) == 0) Event("ping", new JsonObject { ["type"] = "ping" });
            if (type == "text")
            {
                Event("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
                foreach (var piece in Cut(random, (string)block["text"]!))
                    Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece } });
            }
            else
            {
                Event("content_block_start", new JsonObject
                {
                    ["type"] = "content_block_start", ["index"] = index,
                    ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = block["id"]!.DeepClone(), ["name"] = block["name"]!.DeepClone(), ["input"] = new JsonObject() },
                });
                foreach (var piece in Cut(random, block["input"]!.ToJsonString()))
                    Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = piece } });
            }
            Event("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
            index++;
        }
        Event("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = response["stop_reason"]!.DeepClone() },
            ["usage"] = new JsonObject { ["output_tokens"] = usage["output_tokens"]!.DeepClone() },
        });
        Event("message_stop", new JsonObject { ["type"] = "message_stop" });
        return sse.ToString();
    }

    /// <summary>Gemini's SSE chunks of a response: text parts cut across chunks, each call whole, usage restated, finish last.</summary>
    private static string GeminiEvents(Random random, JsonObject response)
    {
        var sse = new StringBuilder();
        var parts = response["candidates"]![0]!["content"]!["parts"]!.AsArray();
        var pieces = new List<JsonObject>();
        foreach (var part in parts)
        {
            if (part!["text"] is { } text) pieces.AddRange(Cut(random, (string)text!).Select(p => new JsonObject { ["text"] = p }));
            else pieces.Add((JsonObject)part.DeepClone());
        }
        var usage = (JsonObject)response["usageMetadata"]!;
        for (var i = 0; i < pieces.Count; i++)
        {
            var final = i == pieces.Count - 1;
            var candidate = new JsonObject { ["content"] = new JsonObject { ["role"] = "model", ["parts"] = new JsonArray(pieces[i]) }, ["index"] = 0 };
            if (final) candidate["finishReason"] = "STOP";
            var chunk = new JsonObject
            {
                ["candidates"] = new JsonArray(candidate),
                // Running totals: the last chunk's are the final ones.
                ["usageMetadata"] = final ? usage.DeepClone() : new JsonObject { ["promptTokenCount"] = usage["promptTokenCount"]!.DeepClone(), ["candidatesTokenCount"] = i },
                ["modelVersion"] = response["modelVersion"]!.DeepClone(), ["responseId"] = response["responseId"]!.DeepClone(),
            };
            sse.Append("data: ").Append(chunk.ToJsonString()).Append("\r\n\r\n");
        }
        return sse.ToString();
    }

    private static List<string> Cut(Random random, string text)
    {
        var pieces = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var length = Math.Min(text.Length - i, random.Next(1, 8));
            // Never split a surrogate pair: JSON deltas carry whole characters.
            if (i + length < text.Length && char.IsHighSurrogate(text[i + length - 1])) length++;
            pieces.Add(text.Substring(i, length));
            i += length;
        }
        return pieces;
    }

    /// <summary>The stream's bytes cut at random points (inside events, inside UTF-8 characters).</summary>
    private static byte[][] RandomSplits(Random random, string sse)
    {
        var bytes = Encoding.UTF8.GetBytes(sse);
        var chunks = new List<byte[]>();
        var i = 0;
        while (i < bytes.Length)
        {
            var length = Math.Min(bytes.Length - i, random.Next(1, 64));
            chunks.Add(bytes[i..(i + length)]);
            i += length;
        }
        return chunks.ToArray();
    }
}

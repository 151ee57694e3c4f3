using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AiGateway.Providers;
using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Tests.Providers.Translation;

/// <summary>Helpers for the chat translation tests: translate, compare JSON by value, read translated streams.</summary>
internal static class ChatJson
{
    /// <summary>Parses and translates an OpenAI request to Anthropic.</summary>
    public static JsonNode ToAnthropic(string openAiJson, long? defaultMaxTokens = 64000)
    {
        using var document = JsonDocument.Parse(openAiJson);
        var translated = AnthropicChatTranslator.TranslateRequest(OpenAiChatRequest.Parse(document.RootElement), "claude-sonnet-4-5", defaultMaxTokens);
        Assert.Equal("v1/messages", translated.Path);
        return JsonNode.Parse(translated.Body)!;
    }

    /// <summary>Parses and translates an OpenAI request to Gemini.</summary>
    public static (JsonNode Body, TranslatedRequest Request) ToGemini(string openAiJson)
    {
        using var document = JsonDocument.Parse(openAiJson);
        var translated = GeminiChatTranslator.TranslateRequest(OpenAiChatRequest.Parse(document.RootElement), "gemini-2.5-flash");
        return (JsonNode.Parse(translated.Body)!, translated);
    }

    /// <summary>The 400 a refused request gets: its parameter and message.</summary>
    public static InvalidRequestException Refusal(Action translate) => Assert.Throws<InvalidRequestException>(translate);

    /// <summary>Asserts two JSON texts are equal by value (property order aside).</summary>
    public static void Equal(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual),
            $"JSON differs.\nExpected: {JsonNode.Parse(expected)!.ToJsonString()}\nActual:   {actual?.ToJsonString()}");

    /// <summary>Runs a stream translator over the given chunks and returns the client bytes.</summary>
    public static byte[] Run(ChatStreamTranslator translator, params byte[][] chunks)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks) translator.Process(chunk, output);
        translator.Complete(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The data of each SSE event in <paramref name="stream"/> (the translators write one data line per event).</summary>
    public static List<string> Events(byte[] stream) =>
        Encoding.UTF8.GetString(stream).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => Assert.Single(e.Split('\n'), l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..]).ToList();

    /// <summary>An OpenAI chat stream folded back into one answer, as an SDK accumulates it.</summary>
    public sealed record Folded(string Id, string Model, string? Text, List<(string Id, string Name, string Arguments)> ToolCalls, string? Finish, JsonNode? Usage, bool Done);

    /// <summary>Folds a translated stream; asserts the chunk protocol (role first, one finish, usage after it, [DONE] last).</summary>
    public static Folded Fold(byte[] stream)
    {
        var events = Events(stream);
        Assert.NotEmpty(events);
        string? text = null, finish = null, id = null, model = null;
        JsonNode? usage = null;
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        var done = false;
        for (var i = 0; i < events.Count; i++)
        {
            Assert.False(done, "an event follows [DONE]");
            if (events[i] == "[DONE]")
            {
                done = true;
                continue;
            }
            var chunk = JsonNode.Parse(events[i])!;
            Assert.Equal("chat.completion.chunk", (string?)chunk["object"]);
            id ??= (string?)chunk["id"];
            model ??= (string?)chunk["model"];
            Assert.Equal(id, (string?)chunk["id"]);
            var choices = chunk["choices"]!.AsArray();
            if (choices.Count == 0)
            {
                Assert.NotNull(finish);
                usage = chunk["usage"];
                continue;
            }
            var choice = choices[0]!;
            var delta = choice["delta"]!;
            if (i == 0) Assert.Equal("assistant", (string?)delta["role"]);
            else Assert.Null(delta["role"]);
            if ((string?)delta["content"] is { Length: > 0 } piece) text = (text ?? "") + piece;
            foreach (var call in delta["tool_calls"]?.AsArray() ?? [])
            {
                var index = (int)call!["index"]!;
                if ((string?)call["id"] is { } callId)
                {
                    Assert.False(calls.ContainsKey(index), $"tool call {index} started twice");
                    calls[index] = (callId, (string)call["function"]!["name"]!, new StringBuilder());
                }
                calls[index].Arguments.Append((string?)call["function"]!["arguments"]);
            }
            if ((string?)choice["finish_reason"] is { } reason)
            {
                Assert.Null(finish);
                finish = reason;
            }
        }
        Assert.Equal(calls.Count == 0 ? 0 : calls.Keys.Max() + 1, calls.Count);
        return new Folded(id!, model!, text, calls.Values.Select(c => (c.Id, c.Name, c.Arguments.ToString())).ToList(), finish, usage, done);
    }
}

using System.Text;
using System.Text.Json;
using AiGateway.Providers;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Tests.Providers;

/// <summary>
/// The OpenAI chat stream tracker reads text-only chunks with a single-pass reader instead of a JSON document per
/// chunk. It must read exactly what the document read gives, for any chunk: these tests feed generated chunks —
/// well-formed, repeated fields, wrong types, escapes, undecodable strings, usage reports, truncated JSON — to the
/// tracker and to <see cref="DocumentChatTracker"/> (the document read as it was before the fast path) and compare.
/// </summary>
public class OpenAiChatChunkReadTests
{
    [Fact]
    public void OnEvent_GeneratedChunks_SameTextUsageAndOutcomeAsTheDocumentRead()
    {
        var random = new Random(1313);
        for (var stream = 0; stream < 4_000; stream++)
        {
            var hide = random.Next(2) == 0;
            var fast = new OpenAiChatStreamTracker(hide);
            var reference = new DocumentChatTracker(hide);
            var chunks = new List<string>();
            for (var i = random.Next(1, 6); i > 0; i--)
            {
                var chunk = Chunk(random);
                chunks.Add(chunk);
                var data = Encoding.UTF8.GetBytes(chunk);
                var expected = Outcome(() => reference.OnEvent([], data));
                var actual = Outcome(() => fast.OnEvent([], data));
                var context = $"stream {stream}, chunks:\n{string.Join("\n", chunks)}";
                Assert.True(expected == actual, $"outcome {actual}, document read {expected}; {context}");
                Assert.True(reference.DeliveredText == fast.DeliveredText,
                    $"text '{fast.DeliveredText}', document read '{reference.DeliveredText}'; {context}");
                Assert.True(Equals(reference.Usage, fast.Usage), $"usage {fast.Usage}, document read {reference.Usage}; {context}");
                Assert.Equal(reference.UsageUnreadable, fast.UsageUnreadable);
                Assert.Equal(reference.SawTerminalEvent, fast.SawTerminalEvent);
            }
        }
    }

    [Theory]
    [InlineData("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}""", "Hel")]
    [InlineData("""{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""", "")]
    [InlineData("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}""", """{"a":""")]
    [InlineData("""{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""", "")]
    public void TryReadTextChunk_TypicalTextChunk_ReadWithoutADocument(string chunk, string text)
    {
        var tracker = new OpenAiChatStreamTracker(hideUsageChunk: false);
        Assert.True(tracker.TryReadTextChunk(Encoding.UTF8.GetBytes(chunk)));
        Assert.Equal(text, tracker.DeliveredText);
    }

    [Theory]
    [InlineData("""{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}""")]
    [InlineData("""{"choices":[{"delta":{"content":"a","content":"b"}}]}""")]
    [InlineData("""{"choices":[{"delta":null}]}""")]
    [InlineData("""{"choices":[{"delta":{"content":"a"}}""")]
    public void TryReadTextChunk_UsageRepeatedFieldOrBrokenJson_LeftToTheDocumentReadWithNothingAppended(string chunk)
    {
        var tracker = new OpenAiChatStreamTracker(hideUsageChunk: false);
        Assert.False(tracker.TryReadTextChunk(Encoding.UTF8.GetBytes(chunk)));
        Assert.Equal("", tracker.DeliveredText);
    }

    private static string Outcome(Func<bool> read)
    {
        try
        {
            return read() ? "hide" : "pass";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    // ---- chunk generator: the shapes OpenAI and compatible servers send, and the ways they can go wrong ----

    private static readonly string[] Strings =
    [
        "\"Hello\"", "\"\"", "\" world\"", "\"caf\\u00e9 \\n\\\"q\\\"\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"{\\\"x\\\":1}\"",
        "null", "12", "true", "{}", "[\"a\"]",
    ];

    private static string Chunk(Random r) => r.Next(40) switch
    {
        0 => "[DONE]",
        1 => "",
        2 => "[1,2]",
        3 => "\"text\"",
        4 => "42",
        5 => Truncate(r, Root(r)),
        6 => Root(r) + " trailing",
        7 => Root(r).Replace("content", "con\\u0074ent"),
        _ => Root(r),
    };

    private static string Truncate(Random r, string json) => json[..r.Next(json.Length)];

    private static string Root(Random r)
    {
        var props = new List<string> { "\"id\":\"chatcmpl-1\"", "\"object\":\"chat.completion.chunk\"" };
        if (r.Next(8) != 0) props.Add("\"choices\":" + Choices(r));
        if (r.Next(6) == 0) props.Add("\"choices\":" + Choices(r));
        switch (r.Next(6))
        {
            case 0: props.Add("\"usage\":null"); break;
            case 1: props.Add("\"usage\":" + Usage(r)); break;
            case 2: props.Add("\"usage\":" + Pick(r, Strings)); break;
        }
        if (r.Next(10) == 0) props.Add("\"usage\":" + Usage(r));
        return Object(r, props);
    }

    private static string Usage(Random r) => r.Next(5) == 0
        ? "{\"prompt_tokens\":\"x\",\"completion_tokens\":2}"
        : $"{{\"prompt_tokens\":{r.Next(100)},\"completion_tokens\":{r.Next(100)},\"completion_tokens_details\":{{\"reasoning_tokens\":{r.Next(5)}}}}}";

    private static string Choices(Random r)
    {
        switch (r.Next(12))
        {
            case 0: return "null";
            case 1: return "{}";
            case 2: return "\"x\"";
        }
        var items = new List<string>();
        for (var i = r.Next(0, 4); i > 0; i--) items.Add(r.Next(15) == 0 ? Pick(r, "1", "null", "\"c\"", "[]") : Choice(r, i));
        return "[" + string.Join(",", items) + "]";
    }

    private static string Choice(Random r, int index)
    {
        var props = new List<string> { $"\"index\":{index}" };
        if (r.Next(4) == 0) props.Add("\"text\":" + Pick(r, Strings));
        if (r.Next(8) != 0) props.Add("\"delta\":" + (r.Next(10) == 0 ? Pick(r, "null", "\"d\"", "3", "[]") : Delta(r)));
        if (r.Next(10) == 0) props.Add("\"delta\":" + Delta(r));
        if (r.Next(12) == 0) props.Add("\"text\":" + Pick(r, Strings));
        props.Add("\"finish_reason\":" + Pick(r, "null", "\"stop\""));
        return Object(r, props);
    }

    private static string Delta(Random r)
    {
        var props = new List<string>();
        if (r.Next(3) == 0) props.Add("\"role\":\"assistant\"");
        foreach (var name in (string[])["content", "reasoning_content", "refusal"])
        {
            if (r.Next(3) == 0) props.Add($"\"{name}\":" + Pick(r, Strings));
            if (r.Next(15) == 0) props.Add($"\"{name}\":" + Pick(r, Strings));
        }
        if (r.Next(4) == 0) props.Add("\"tool_calls\":" + ToolCalls(r));
        if (r.Next(20) == 0) props.Add("\"tool_calls\":" + ToolCalls(r));
        return Object(r, props);
    }

    private static string ToolCalls(Random r)
    {
        if (r.Next(8) == 0) return Pick(r, "null", "{}", "\"t\"");
        var items = new List<string>();
        for (var i = r.Next(0, 3); i > 0; i--)
        {
            if (r.Next(12) == 0)
            {
                items.Add(Pick(r, "1", "null", "[]"));
                continue;
            }
            var props = new List<string> { $"\"index\":{i}", "\"id\":\"call_1\"" };
            var function = new List<string> { "\"name\":\"f\"" };
            if (r.Next(4) != 0) function.Add("\"arguments\":" + Pick(r, Strings));
            if (r.Next(15) == 0) function.Add("\"arguments\":" + Pick(r, Strings));
            props.Add("\"function\":" + (r.Next(10) == 0 ? Pick(r, "null", "\"f\"", "[]") : Object(r, function)));
            if (r.Next(15) == 0) props.Add("\"function\":" + Object(r, function));
            items.Add(Object(r, props));
        }
        return "[" + string.Join(",", items) + "]";
    }

    private static string Object(Random r, List<string> props) => "{" + string.Join(",", props.OrderBy(_ => r.Next())) + "}";

    private static string Pick(Random r, params string[] options) => options[r.Next(options.Length)];

    /// <summary>The tracker's chunk read as it was before the fast path: one JSON document per chunk.</summary>
    private sealed class DocumentChatTracker(bool hideUsageChunk) : StreamUsageTracker
    {
        public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
        {
            if (data.SequenceEqual("[DONE]"u8))
            {
                SawTerminalEvent = true;
                return false;
            }
            using var document = TryParse(data);
            if (document is null) return false;
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return false;

            var choiceCount = 0;
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
            {
                foreach (var choice in choices.EnumerateArray())
                {
                    choiceCount++;
                    AppendDelivered(choice, "text");
                    if (!choice.TryGetProperty("delta", out var delta)) continue;
                    AppendDelivered(delta, "content");
                    AppendDelivered(delta, "reasoning_content");
                    AppendDelivered(delta, "refusal");
                    if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                        foreach (var call in calls.EnumerateArray())
                            if (call.TryGetProperty("function", out var function))
                                AppendDelivered(function, "arguments");
                }
            }

            if (!UsageFields.TryGetObject(root, "usage", out var usage)) return false;
            if (TryRead(() => OpenAiUsage.FromChatUsage(usage)) is { } read) Usage = read;
            return hideUsageChunk && choiceCount == 0;
        }
    }
}

using System.Text;
using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Providers;
using AiGateway.Providers.Anthropic;

namespace AiGateway.Tests.Providers;

/// <summary>
/// The Anthropic stream tracker reads events without usage (deltas, pings, block starts and stops) in one pass instead
/// of a JSON document per event. It must give exactly what the document read gives: generated events — every type,
/// repeated fields, wrong types, escapes, undecodable strings, usage reports, truncated JSON — go to the tracker and to
/// <see cref="DocumentAnthropicTracker"/> (the read before the fast path) and the results are compared.
/// </summary>
public class AnthropicChunkReadTests
{
    [Fact]
    public void OnEvent_GeneratedEvents_SameTextUsageAndOutcomeAsTheDocumentRead()
    {
        var random = new Random(2626);
        for (var stream = 0; stream < 4_000; stream++)
        {
            var fast = new AnthropicStreamTracker();
            var reference = new DocumentAnthropicTracker();
            var events = new List<string>();
            for (var i = random.Next(1, 7); i > 0; i--)
            {
                var data = Event(random);
                events.Add(data);
                var bytes = Encoding.UTF8.GetBytes(data);
                var expected = Outcome(() => reference.OnEvent([], bytes));
                var actual = Outcome(() => fast.OnEvent([], bytes));
                var context = $"stream {stream}, events:\n{string.Join("\n", events)}";
                Assert.True(expected == actual, $"outcome {actual}, document read {expected}; {context}");
                Assert.True(reference.DeliveredText == fast.DeliveredText,
                    $"text '{fast.DeliveredText}', document read '{reference.DeliveredText}'; {context}");
                Assert.True(Equals(reference.Usage, fast.Usage), $"usage {fast.Usage}, document read {reference.Usage}; {context}");
                Assert.Equal(reference.SawTerminalEvent, fast.SawTerminalEvent);
            }
        }
    }

    [Theory]
    [InlineData("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}""", "Hi")]
    [InlineData("""{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}""", """{"a":""")]
    [InlineData("""{"type":"ping"}""", "")]
    [InlineData("""{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""", "")]
    public void TryReadWithoutUsage_DeltaOrPing_ReadWithoutADocument(string data, string text)
    {
        var tracker = new AnthropicStreamTracker();
        Assert.True(tracker.TryReadWithoutUsage(Encoding.UTF8.GetBytes(data)));
        Assert.Equal(text, tracker.DeliveredText);
    }

    [Theory]
    [InlineData("""{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}""")]
    [InlineData("""{"type":"message_stop"}""")]
    [InlineData("""{"type":"content_block_delta","delta":{"text":"a","text":"b"}}""")]
    [InlineData("""{"type":"content_block_delta","delta":{"text":"a"}""")]
    public void TryReadWithoutUsage_UsageEndRepeatedFieldOrBrokenJson_LeftToTheDocumentRead(string data)
    {
        var tracker = new AnthropicStreamTracker();
        Assert.False(tracker.TryReadWithoutUsage(Encoding.UTF8.GetBytes(data)));
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

    private static readonly string[] Strings =
    [
        "\"Hello\"", "\"\"", "\" world\"", "\"caf\\u00e9 \\n\\\"q\\\"\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "null", "12", "{}", "[\"a\"]",
    ];

    private static readonly string[] Types =
    [
        "\"message_start\"", "\"content_block_start\"", "\"ping\"", "\"content_block_delta\"", "\"content_block_delta\"",
        "\"content_block_delta\"", "\"content_block_stop\"", "\"message_delta\"", "\"message_stop\"", "\"error\"", "null", "5",
        "\"content_block_d\\u0065lta\"", "\"\\ud800\"",
    ];

    private static string Event(Random r) => r.Next(30) switch
    {
        0 => "",
        1 => "[1]",
        2 => "\"x\"",
        3 => Truncate(r, Root(r)),
        4 => Root(r) + " trailing",
        5 => Root(r).Replace("\"text\"", "\"t\\u0065xt\""),
        _ => Root(r),
    };

    private static string Truncate(Random r, string json) => json[..r.Next(json.Length)];

    private static string Root(Random r)
    {
        var props = new List<string>();
        if (r.Next(12) != 0) props.Add("\"type\":" + Pick(r, Types));
        if (r.Next(15) == 0) props.Add("\"type\":" + Pick(r, Types));
        props.Add("\"index\":0");
        if (r.Next(3) != 0) props.Add("\"delta\":" + (r.Next(10) == 0 ? Pick(r, "null", "\"d\"", "[]") : Delta(r)));
        if (r.Next(15) == 0) props.Add("\"delta\":" + Delta(r));
        if (r.Next(4) == 0) props.Add("\"usage\":" + Usage(r));
        if (r.Next(4) == 0) props.Add("\"message\":{\"id\":\"msg_1\",\"usage\":" + Usage(r) + "}");
        return Object(r, props);
    }

    private static string Delta(Random r)
    {
        var props = new List<string> { "\"type\":" + Pick(r, "\"text_delta\"", "\"thinking_delta\"", "\"input_json_delta\"") };
        foreach (var name in (string[])["text", "thinking", "partial_json"])
        {
            if (r.Next(3) == 0) props.Add($"\"{name}\":" + Pick(r, Strings));
            if (r.Next(15) == 0) props.Add($"\"{name}\":" + Pick(r, Strings));
        }
        if (r.Next(6) == 0) props.Add("\"stop_reason\":\"end_turn\"");
        return Object(r, props);
    }

    private static string Usage(Random r) => r.Next(6) switch
    {
        0 => "null",
        1 => "{\"output_tokens\":\"x\"}",
        2 => $"{{\"input_tokens\":{r.Next(100)},\"cache_read_input_tokens\":{r.Next(50)},\"output_tokens\":{r.Next(100)}}}",
        _ => $"{{\"output_tokens\":{r.Next(100)}}}",
    };

    private static string Object(Random r, List<string> props) => "{" + string.Join(",", props.OrderBy(_ => r.Next())) + "}";

    private static string Pick(Random r, params string[] options) => options[r.Next(options.Length)];

    /// <summary>The tracker's event read as it was before the fast path: one JSON document per event.</summary>
    private sealed class DocumentAnthropicTracker : StreamUsageTracker
    {
        private CallUsage _usage = CallUsage.None;

        public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
        {
            using var document = TryParse(data);
            if (document is null) return false;
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                return false;

            switch (type.GetString())
            {
                case "message_start":
                    if (UsageFields.TryGetObject(root, "message", out var message) && UsageFields.TryGetObject(message, "usage", out var startUsage)
                        && TryRead(() => AnthropicUsage.FromUsage(startUsage)) is { } start)
                    {
                        _usage = start;
                        Usage = _usage;
                    }
                    break;
                case "message_delta":
                    if (UsageFields.TryGetObject(root, "usage", out var deltaUsage) && TryRead(() => MergeDelta(_usage, deltaUsage)) is { } merged)
                    {
                        _usage = merged;
                        Usage = _usage;
                    }
                    break;
                case "content_block_delta":
                    if (UsageFields.TryGetObject(root, "delta", out var delta))
                    {
                        AppendDelivered(delta, "text");
                        AppendDelivered(delta, "thinking");
                        AppendDelivered(delta, "partial_json");
                    }
                    break;
                case "message_stop":
                    SawTerminalEvent = true;
                    break;
            }
            return false;
        }

        private static CallUsage MergeDelta(CallUsage current, JsonElement delta)
        {
            var restatesInput = UsageFields.Has(delta, "input_tokens") || UsageFields.Has(delta, "cache_read_input_tokens")
                                || UsageFields.Has(delta, "cache_creation_input_tokens");
            var input = restatesInput ? AnthropicUsage.FromUsage(delta) : current;
            return input with { OutputTokens = UsageFields.Has(delta, "output_tokens") ? UsageFields.Count(delta, "output_tokens") : current.OutputTokens };
        }
    }
}

using System.Text.Json;
using System.Text.Unicode;
using AiGateway.Metering;

namespace AiGateway.Providers.Anthropic;

/// <summary>
/// Reads Messages stream events. Usage is split: <c>message_start</c> carries input and cache counts,
/// <c>message_delta</c> carries the cumulative output count (the last one wins); <c>message_stop</c> ends the stream.
/// </summary>
internal sealed class AnthropicStreamTracker : StreamUsageTracker
{
    private CallUsage _usage = CallUsage.None;

    /// <summary>Reads one event; never withholds anything.</summary>
    public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        if (Utf8.IsValid(data) && TryReadWithoutUsage(data)) return false;
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

    /// <summary>
    /// The fast path for the events that carry no usage — text, thinking and tool-input deltas, pings, block starts and
    /// stops, almost all of a stream: one <see cref="Utf8JsonReader"/> pass instead of a <see cref="JsonDocument"/> per
    /// event, appending exactly what the document read in <see cref="OnEvent"/> would. Returns false — having appended
    /// nothing — for <c>message_start</c>, <c>message_delta</c> and <c>message_stop</c> (usage and the end, left to the
    /// document read), a repeated field (the document read takes the last), a string it cannot decode, or malformed JSON.
    /// </summary>
    internal bool TryReadWithoutUsage(ReadOnlySpan<byte> data)
    {
        try
        {
            var reader = new Utf8JsonReader(data, JsonFastRead.Options);
            if (!reader.Read()) return false;
            // Not an object: the document read finds no type in it (or cannot parse it), and does nothing.
            if (reader.TokenType != JsonTokenType.StartObject) return true;
            string? type = null, text = null, thinking = null, partialJson = null;
            bool sawType = false, sawDelta = false, deltaIsObject = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    if (sawType) return false;
                    sawType = true;
                    type = JsonFastRead.StringOrSkip(ref reader);
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    if (sawDelta) return false;
                    sawDelta = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }
                    deltaIsObject = true;
                    bool sawText = false, sawThinking = false, sawPartial = false;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("text"u8))
                        {
                            if (sawText) return false;
                            sawText = true;
                            text = JsonFastRead.StringOrSkip(ref reader);
                        }
                        else if (reader.ValueTextEquals("thinking"u8))
                        {
                            if (sawThinking) return false;
                            sawThinking = true;
                            thinking = JsonFastRead.StringOrSkip(ref reader);
                        }
                        else if (reader.ValueTextEquals("partial_json"u8))
                        {
                            if (sawPartial) return false;
                            sawPartial = true;
                            partialJson = JsonFastRead.StringOrSkip(ref reader);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            if (type is "message_start" or "message_delta" or "message_stop") return false;
            if (type == "content_block_delta" && deltaIsObject)
            {
                // The document read's order: text, thinking, then tool input.
                AppendDelivered(text);
                AppendDelivered(thinking);
                AppendDelivered(partialJson);
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }


    /// <summary>
    /// message_delta always has the cumulative output_tokens; newer API versions may also restate input and cache
    /// counts there (cumulatively), which then replace the message_start values.
    /// </summary>
    private static CallUsage MergeDelta(CallUsage current, JsonElement delta)
    {
        var restatesInput = Has(delta, "input_tokens") || Has(delta, "cache_read_input_tokens") || Has(delta, "cache_creation_input_tokens");
        var input = restatesInput ? AnthropicUsage.FromUsage(delta) : current;
        return input with { OutputTokens = Has(delta, "output_tokens") ? UsageFields.Count(delta, "output_tokens") : current.OutputTokens };
    }

    // Present at all: an unreadable restated count must make the report unreadable, not be skipped.
    private static bool Has(JsonElement obj, string name) => UsageFields.Has(obj, name);
}

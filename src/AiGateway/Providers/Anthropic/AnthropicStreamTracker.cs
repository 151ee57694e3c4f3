using System.Text.Json;
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

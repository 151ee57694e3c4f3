using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// Reads chat completion (and legacy completion) chunks. Usage arrives only when <c>stream_options.include_usage</c>
/// is set, in an extra final chunk with empty <c>choices</c>; when the gateway injected the option, that chunk is withheld.
/// </summary>
internal sealed class OpenAiChatStreamTracker(bool hideUsageChunk) : StreamUsageTracker
{
    /// <summary>Only when the gateway asked for usage itself is there a chunk to withhold.</summary>
    public override bool MayWithhold => hideUsageChunk;

    /// <summary>Reads one chunk; returns true for the usage-only chunk the client did not ask for.</summary>
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
                AppendDelivered(choice, "text"); // legacy completions
                if (!choice.TryGetProperty("delta", out var delta)) continue;
                AppendDelivered(delta, "content");
                AppendDelivered(delta, "reasoning_content"); // DeepSeek, Qwen and other compatible servers
                AppendDelivered(delta, "refusal");
                if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    foreach (var call in calls.EnumerateArray())
                        if (call.TryGetProperty("function", out var function))
                            AppendDelivered(function, "arguments");
            }
        }

        // Compatible servers may attach usage to the last content chunk instead; it is read but such a chunk is never hidden.
        if (!UsageFields.TryGetObject(root, "usage", out var usage)) return false;
        if (TryRead(() => OpenAiUsage.FromChatUsage(usage)) is { } read) Usage = read;
        return hideUsageChunk && choiceCount == 0;
    }
}

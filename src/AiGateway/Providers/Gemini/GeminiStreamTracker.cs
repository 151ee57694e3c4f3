using System.Text.Json;

namespace AiGateway.Providers.Gemini;

/// <summary>
/// Reads <c>streamGenerateContent</c> chunks. Every chunk may restate <c>usageMetadata</c> as running totals, so the
/// last one wins; a candidate with a <c>finishReason</c> marks the end.
/// </summary>
internal sealed class GeminiStreamTracker : StreamUsageTracker
{
    /// <summary>Gemini streams SSE with <c>alt=sse</c> and one incremental JSON array without it.</summary>
    public override bool DetectsFraming => true;

    /// <summary>A JSON array stream when the first byte opens an array; SSE otherwise.</summary>
    public override IStreamFraming? CreateFraming(byte firstByte, int maxElementBytes) =>
        firstByte == (byte)'[' ? new GeminiJsonArrayStream(this, maxElementBytes) : null;

    /// <summary>Reads one chunk; never withholds anything.</summary>
    public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        using var document = TryParse(data);
        if (document is not null) OnChunk(document.RootElement);
        return false;
    }

    /// <summary>Reads one parsed chunk (also used for the JSON-array framing without <c>alt=sse</c>).</summary>
    public void OnChunk(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        if (root.TryGetProperty("candidates", out var candidates) && candidates.ValueKind == JsonValueKind.Array)
        {
            foreach (var candidate in candidates.EnumerateArray())
            {
                if (candidate.ValueKind != JsonValueKind.Object) continue;
                if (UsageFields.TryGetObject(candidate, "content", out var content)
                    && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
                    foreach (var part in parts.EnumerateArray())
                        AppendDelivered(part, "text"); // thought summaries are text parts too, and were delivered
                if (candidate.TryGetProperty("finishReason", out var reason) && reason.ValueKind == JsonValueKind.String)
                    SawTerminalEvent = true;
            }
        }
        if (TryRead(() => GeminiUsage.FromResponse(root)) is { } usage) Usage = usage;
    }
}

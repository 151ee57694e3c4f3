using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers.Gemini;

/// <summary>
/// Maps Gemini <c>usageMetadata</c> to <see cref="CallUsage"/>. <c>candidatesTokenCount</c> EXCLUDES thinking, which
/// comes as <c>thoughtsTokenCount</c>; <c>promptTokenCount</c> already includes <c>cachedContentTokenCount</c>.
/// </summary>
internal static class GeminiUsage
{
    /// <summary>Reads the usage of a complete response, one stream chunk, or a whole non-SSE stream (a JSON array; the last report wins).</summary>
    public static CallUsage? FromResponse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Array)
            return UsageFields.TryGetObject(root, "usageMetadata", out var usage) ? FromUsageMetadata(usage) : null;
        CallUsage? last = null;
        foreach (var chunk in root.EnumerateArray())
            last = FromResponse(chunk) ?? last;
        return last;
    }

    /// <summary>Maps one usageMetadata object.</summary>
    public static CallUsage FromUsageMetadata(JsonElement usage)
    {
        var thoughts = UsageFields.Count(usage, "thoughtsTokenCount");
        return UsageFields.Consistent(new CallUsage
        {
            // Tool-use prompt tokens (e.g. search results fed back to the model) are billed as input but not in promptTokenCount.
            InputTokens = UsageFields.Count(usage, "promptTokenCount") + UsageFields.Count(usage, "toolUsePromptTokenCount"),
            CachedInputTokens = UsageFields.Count(usage, "cachedContentTokenCount"),
            OutputTokens = UsageFields.Count(usage, "candidatesTokenCount") + thoughts,
            ReasoningTokens = thoughts,
        });
    }
}

using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers.Anthropic;

/// <summary>
/// Maps Anthropic usage to <see cref="CallUsage"/>. Anthropic's <c>input_tokens</c> EXCLUDES cache reads and writes,
/// so the gateway's input total adds them back; thinking is inside <c>output_tokens</c> and not reported separately.
/// </summary>
internal static class AnthropicUsage
{
    /// <summary>Reads the usage of a complete Messages response.</summary>
    public static CallUsage? FromResponse(JsonElement root) =>
        UsageFields.TryGetObject(root, "usage", out var usage) ? FromUsage(usage) : null;

    /// <summary>Maps one usage object.</summary>
    public static CallUsage FromUsage(JsonElement usage)
    {
        var uncached = UsageFields.Count(usage, "input_tokens");
        var cacheRead = UsageFields.Count(usage, "cache_read_input_tokens");
        var cacheWrite = UsageFields.Count(usage, "cache_creation_input_tokens");
        return new CallUsage
        {
            InputTokens = uncached + cacheRead + cacheWrite,
            CachedInputTokens = cacheRead,
            CacheWriteInputTokens = cacheWrite,
            OutputTokens = UsageFields.Count(usage, "output_tokens"),
        };
    }
}

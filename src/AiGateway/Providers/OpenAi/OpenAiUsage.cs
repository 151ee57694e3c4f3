using System.Globalization;
using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers.OpenAi;

/// <summary>Maps OpenAI usage objects to <see cref="CallUsage"/>; cached and reasoning tokens are sub-counts already included in the totals.</summary>
internal static class OpenAiUsage
{
    /// <summary>Reads the usage of a complete (non-streamed) response body.</summary>
    public static CallUsage? FromResponse(Operation operation, JsonElement root) => operation switch
    {
        Operation.OpenAiChatCompletions or Operation.OpenAiCompletions or Operation.OpenAiEmbeddings =>
            UsageFields.TryGetObject(root, "usage", out var u) ? FromChatUsage(u) : null,
        Operation.OpenAiResponses => UsageFields.TryGetObject(root, "usage", out var u) ? FromResponsesUsage(u) : null,
        Operation.OpenAiImageGenerations or Operation.OpenAiImageEdits => FromImages(root),
        Operation.OpenAiVideos => FromVideoJob(root),
        _ => null,
    };

    /// <summary>The reader of the top-level <c>usage</c> object, for the operations whose whole report is that object; else null.</summary>
    public static Func<JsonElement, CallUsage>? TopLevelUsageReader(Operation operation) => operation switch
    {
        Operation.OpenAiChatCompletions or Operation.OpenAiCompletions or Operation.OpenAiEmbeddings => FromChatUsage,
        Operation.OpenAiResponses => FromResponsesUsage,
        _ => null,
    };

    /// <summary>Chat completions, completions and embeddings: <c>prompt_tokens</c> / <c>completion_tokens</c>.</summary>
    public static CallUsage FromChatUsage(JsonElement usage)
    {
        var cached = UsageFields.Count(usage, "prompt_tokens_details", "cached_tokens");
        // OpenAI-compatible servers report cache hits elsewhere: DeepSeek as prompt_cache_hit_tokens, some at the top level.
        if (cached == 0) cached = UsageFields.Count(usage, "prompt_cache_hit_tokens");
        if (cached == 0) cached = UsageFields.Count(usage, "cached_tokens");
        return UsageFields.Consistent(new CallUsage
        {
            InputTokens = UsageFields.Count(usage, "prompt_tokens"),
            CachedInputTokens = cached,
            OutputTokens = UsageFields.Count(usage, "completion_tokens"),
            ReasoningTokens = UsageFields.Count(usage, "completion_tokens_details", "reasoning_tokens"),
        });
    }

    /// <summary>Responses API (and image token usage): <c>input_tokens</c> / <c>output_tokens</c>.</summary>
    public static CallUsage FromResponsesUsage(JsonElement usage) => UsageFields.Consistent(new CallUsage
    {
        InputTokens = UsageFields.Count(usage, "input_tokens"),
        CachedInputTokens = UsageFields.Count(usage, "input_tokens_details", "cached_tokens"),
        OutputTokens = UsageFields.Count(usage, "output_tokens"),
        ReasoningTokens = UsageFields.Count(usage, "output_tokens_details", "reasoning_tokens"),
    });

    /// <summary>Images: one per <c>data[]</c> entry, plus token usage when the model reports it (gpt-image-1).</summary>
    public static CallUsage? FromImages(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            return null;
        var tokens = UsageFields.TryGetObject(root, "usage", out var u) ? FromResponsesUsage(u) : CallUsage.None;
        return tokens with { Images = data.GetArrayLength() };
    }

    /// <summary>
    /// Videos: the job's <c>seconds</c> (a string such as "8"). Creating a job usually returns it queued: its cost is then
    /// held until a status poll shows it completed or failed (see <c>Metering.VideoJobs</c>).
    /// </summary>
    public static CallUsage? FromVideoJob(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("seconds", out var seconds)) return null;
        if (root.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String && status.ValueEquals("failed"))
            return null;
        var value = seconds.ValueKind switch
        {
            JsonValueKind.String when int.TryParse(seconds.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) => s,
            JsonValueKind.Number when seconds.TryGetInt32(out var n) && n >= 0 => n,
            _ => -1,
        };
        return value < 0 ? null : new CallUsage { VideoSeconds = value };
    }
}

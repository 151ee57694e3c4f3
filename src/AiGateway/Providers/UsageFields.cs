using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers;

/// <summary>Lenient reads of provider usage numbers: a missing, null or non-numeric count is 0, never an exception.</summary>
internal static class UsageFields
{
    /// <summary>A non-negative integer property, or 0.</summary>
    public static long Count(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Number)
            return 0;
        if (v.TryGetInt64(out var n)) return Math.Max(0, n);
        // Some compatible servers send 12.0; a count beyond long is nonsense and is treated as missing.
        return v.TryGetDouble(out var d) && double.IsFinite(d) && d > 0 && d < 9e15 ? (long)d : 0;
    }

    /// <summary>A count inside a nested object (<c>obj.outer.name</c>), or 0.</summary>
    public static long Count(JsonElement obj, string outer, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(outer, out var inner) ? Count(inner, name) : 0;

    /// <summary>A present, non-null object property.</summary>
    public static bool TryGetObject(JsonElement obj, string name, out JsonElement value)
    {
        value = default;
        return obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind == JsonValueKind.Object;
    }

    /// <summary>Keeps the sub-count invariants (cached ⊆ input, reasoning ⊆ output) even when a provider reports inconsistent numbers.</summary>
    public static CallUsage Consistent(CallUsage usage) => usage with
    {
        CachedInputTokens = Math.Min(usage.CachedInputTokens, usage.InputTokens),
        ReasoningTokens = Math.Min(usage.ReasoningTokens, usage.OutputTokens),
    };
}

using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers;

/// <summary>
/// Reads of provider usage numbers: a missing or null count is 0; a present count that is not a non-negative integer
/// within <see cref="long"/> (a string, a negative or fractional number, 1e30) makes the whole report unreadable
/// (<see cref="UnreadableUsageException"/>), so the call falls back to the gateway's counted tokens instead of zero.
/// </summary>
internal static class UsageFields
{
    /// <summary>A non-negative integer property, or 0 when absent.</summary>
    /// <exception cref="UnreadableUsageException">The property is present but not a count.</exception>
    public static long Count(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return 0;
        if (v.ValueKind != JsonValueKind.Number) throw new UnreadableUsageException(name);
        if (v.TryGetInt64(out var n)) return n >= 0 ? n : throw new UnreadableUsageException(name);
        // Some compatible servers send 12.0 or 1.2e3; a fraction, a negative or a count beyond long is not a count.
        return v.TryGetDouble(out var d) && double.IsFinite(d) && d >= 0 && d < 9.2e18 && d == Math.Floor(d)
            ? (long)d
            : throw new UnreadableUsageException(name);
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

    /// <summary>Whether a count property is present (not null), readable or not.</summary>
    public static bool Has(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>Keeps the sub-count invariants (cached ⊆ input, reasoning ⊆ output) even when a provider reports inconsistent numbers.</summary>
    public static CallUsage Consistent(CallUsage usage) => usage with
    {
        CachedInputTokens = Math.Min(usage.CachedInputTokens, usage.InputTokens),
        ReasoningTokens = Math.Min(usage.ReasoningTokens, usage.OutputTokens),
    };
}

/// <summary>A provider's usage report holds a count that is not a non-negative integer; the report as a whole is not trusted.</summary>
internal sealed class UnreadableUsageException(string field)
    : Exception($"The usage field '{field}' is not a non-negative integer.");

namespace AiGateway.Ledger;

/// <summary>What a metered call is, for deciding which scoped lots may pay for it: its priced model and its modality.</summary>
public sealed record CallScope(string Model, string Modality);

/// <summary>
/// Lot scopes: a lot may be limited to model patterns (exact, or a trailing <c>*</c> prefix wildcard, case-insensitive,
/// like a plan's <c>unlimitedModels</c>) and/or modalities (<c>text</c>, <c>image</c>, <c>video</c>, <c>audio</c>).
/// Stored as comma lists; null means "any". A lot applies when every scope it has matches the call.
/// </summary>
public static class LotScope
{
    /// <summary>The modalities a lot may be limited to (the price book's modalities, lower case).</summary>
    public static readonly IReadOnlyList<string> Modalities = ["text", "image", "video", "audio"];

    /// <summary>Whether a lot with these stored scopes may pay for <paramref name="call"/>; a null call (scope unknown) may use every lot.</summary>
    public static bool Applies(string? modelScope, string? modalityScope, CallScope? call)
    {
        if (call is null) return true;
        if (modelScope is not null && !Split(modelScope).Any(p => Matches(p, call.Model))) return false;
        return modalityScope is null || Split(modalityScope).Any(m => m.Equals(call.Modality, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Whether a model pattern (exact or trailing <c>*</c>) matches a model name, ignoring case.</summary>
    public static bool Matches(string pattern, string model) => pattern.EndsWith('*')
        ? model.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
        : model.Equals(pattern, StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks and joins a grant's model patterns for storage; null or empty means unscoped.</summary>
    /// <exception cref="ArgumentException">An empty pattern, a comma in one, or a <c>*</c> anywhere but at the end.</exception>
    public static string? JoinModels(IReadOnlyList<string>? models)
    {
        if (models is null || models.Count == 0) return null;
        foreach (var model in models)
        {
            if (string.IsNullOrWhiteSpace(model) || model.Contains(',') || model.TrimEnd('*').Contains('*') || model.Length > 200)
                throw new ArgumentException("models must be model names or prefixes ending in '*', without commas.", nameof(models));
        }
        return string.Join(',', models.Select(m => m.Trim()).Distinct(StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Checks and joins a grant's modalities for storage; null or empty means unscoped.</summary>
    /// <exception cref="ArgumentException">A modality that is not one of <see cref="Modalities"/>.</exception>
    public static string? JoinModalities(IReadOnlyList<string>? modalities)
    {
        if (modalities is null || modalities.Count == 0) return null;
        var normalized = modalities.Select(m => m?.Trim().ToLowerInvariant() ?? "").Distinct().ToList();
        if (normalized.Any(m => !Modalities.Contains(m)))
            throw new ArgumentException($"modalities must be among: {string.Join(", ", Modalities)}.", nameof(modalities));
        return string.Join(',', normalized);
    }

    /// <summary>A stored comma list as its items; null stays null.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(stored))]
    public static IReadOnlyList<string>? Split(string? stored) =>
        stored?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

namespace AiGateway.Tokenizers;

/// <summary>
/// Approximate counts for models whose tokenizer we do not ship (Claude, Gemini, DeepSeek, …):
/// o200k_base tokens scaled by a caller-supplied per-model factor.
/// </summary>
public static class ApproximateCounter
{
    /// <summary>Counts <paramref name="text"/> with o200k_base and multiplies by <paramref name="factor"/>, rounding up.</summary>
    public static int Count(ReadOnlySpan<char> text, double factor)
    {
        if (!(factor > 0) || double.IsInfinity(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "Factor must be positive and finite.");
        int tokens = TiktokenEncoding.O200kBase.CountTokens(text);
        return (int)Math.Ceiling(tokens * factor);
    }
}

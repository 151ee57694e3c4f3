using AiGateway.Metering;

namespace AiGateway.Pricing;

/// <summary>
/// Credit arithmetic for one call, all in integer micro-credits.
/// Rounding rule: each line item (uncached input, cached input, cache writes, output, reasoning, requests, images,
/// video seconds, audio uses) is computed exactly as count × rate ÷ perTokens in Int128 and rounded UP to a whole
/// micro-credit once; the call's cost is the sum of its line items. A non-zero usage at a non-zero rate therefore
/// never costs 0, and a line item is never more than 1 micro-credit above its exact value.
/// </summary>
public static class CostCalculator
{
    /// <summary>
    /// The actual cost of a call: cached input is a sub-count of input and reasoning a sub-count of output, so each
    /// token is priced exactly once at its class's rate; cache writes are a sub-count of input too (see <see cref="CallUsage"/>).
    /// </summary>
    public static Credits Cost(ModelPrice price, CallUsage usage, string? imageSize = null, string? imageQuality = null)
    {
        // Negative counts can only come from a parser bug; treat them as nothing rather than as a refund.
        var input = Math.Max(0, usage.InputTokens);
        var cached = Math.Max(0, usage.CachedInputTokens);
        var output = Math.Max(0, usage.OutputTokens);
        var reasoning = Math.Max(0, usage.ReasoningTokens);

        // If a provider reports a sub-count larger than its total, the sub-count is still charged in full:
        // the call never costs less than its reported tokens, and no token is counted twice.
        var cacheWrites = Math.Max(0, usage.CacheWriteInputTokens);
        var subCounts = cached > long.MaxValue - cacheWrites ? long.MaxValue : cached + cacheWrites;
        var micro = TokenLine(input - Math.Min(input, subCounts), price.Input, price.PerTokens)
            + TokenLine(cached, price.CachedInput, price.PerTokens)
            + TokenLine(cacheWrites, price.CacheWrite, price.PerTokens)
            + TokenLine(output - Math.Min(output, reasoning), price.Output, price.PerTokens)
            + TokenLine(reasoning, price.Reasoning, price.PerTokens)
            + price.PerRequest.Micro
            + UnitLine(usage.Images, price.ImagePrice(imageSize, imageQuality))
            + UnitLine(usage.VideoSeconds, price.PerVideoSecond)
            + UnitLine(usage.AudioUses, price.PerAudioUse);
        return Saturate(micro);
    }

    /// <summary>
    /// The pre-call estimate: all input at the uncached input rate (the cache is unknown before the call) and all
    /// output at the higher of the output and reasoning rates, so the estimate is not below the actual cost of the
    /// same token counts; plus one request and the expected units. Token counts are taken as given: for approximated
    /// models the caller scales its o200k_base count with <see cref="ModelPrice.ScaleCountedTokens"/> first, and picks
    /// the output count with <see cref="ModelPrice.OutputTokensForEstimate"/>.
    /// </summary>
    public static Credits Estimate(ModelPrice price, long inputTokens, long outputTokens, EstimateUnits units)
    {
        var micro = TokenLine(Math.Max(0, inputTokens), price.Input, price.PerTokens)
            + TokenLine(Math.Max(0, outputTokens), EstimateOutputRate(price), price.PerTokens)
            + price.PerRequest.Micro
            + UnitLine(units.Images, price.ImagePrice(units.ImageSize, units.ImageQuality))
            + UnitLine(units.VideoSeconds, price.PerVideoSecond)
            + UnitLine(units.AudioUses, price.PerAudioUse);
        return Saturate(micro);
    }

    /// <summary>
    /// The largest output-token count whose <see cref="Estimate"/> (with no extra units) fits in
    /// <paramref name="available"/>: 0 when even the input does not fit (the caller refuses the call), and
    /// <see cref="long.MaxValue"/> when output is free (nothing to clamp).
    /// </summary>
    public static long AffordableOutputTokens(ModelPrice price, long inputTokens, Credits available)
    {
        var fixedPart = Estimate(price, inputTokens, 0, EstimateUnits.None);
        if (fixedPart > available)
            return 0;
        var rate = EstimateOutputRate(price).Micro;
        if (rate == 0)
            return long.MaxValue;
        // ceil(o × rate ÷ N) ≤ R  ⇔  o × rate ≤ R × N  (R is an integer), so the bound is exact, not a search.
        var remaining = (Int128)(available - fixedPart).Micro;
        var tokens = remaining * price.PerTokens / rate;
        return tokens > long.MaxValue ? long.MaxValue : (long)tokens;
    }

    // Token counts come from outside (a provider's report): each line fits Int128 (long × long), and a sum beyond
    // long saturates instead of throwing, so arithmetic never turns a served call into an error.
    private static Credits Saturate(Int128 micro) => new(micro > long.MaxValue ? long.MaxValue : (long)micro);

    private static Credits EstimateOutputRate(ModelPrice price) => Credits.Max(price.Output, price.Reasoning);

    private static Int128 TokenLine(long tokens, Credits ratePerN, long perTokens)
    {
        var exact = (Int128)tokens * ratePerN.Micro;
        return (exact + perTokens - 1) / perTokens;
    }

    private static Int128 UnitLine(int units, Credits each) => (Int128)Math.Max(0, units) * each.Micro;
}

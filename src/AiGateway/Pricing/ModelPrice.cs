using System.Collections.Frozen;

namespace AiGateway.Pricing;

/// <summary>
/// One model's resolved, immutable price: every rate already in micro-credits, every fallback already applied,
/// so the per-call arithmetic in <see cref="CostCalculator"/> does no lookups and no decimal math.
/// </summary>
public sealed class ModelPrice
{
    /// <summary>The encoding used to count tokens for models that only have an approximation factor.</summary>
    public const string ApproximationEncoding = "o200k_base";

    private readonly FrozenDictionary<string, Credits> _perImageBySize;

    private ModelPrice(string name, FrozenDictionary<string, Credits> perImageBySize)
    {
        Name = name;
        _perImageBySize = perImageBySize;
    }

    /// <summary>The canonical model name as configured.</summary>
    public string Name { get; }

    /// <summary>Other names that resolve to this model.</summary>
    public IReadOnlyList<string> Aliases { get; private init; } = [];

    /// <summary>Upstream provider or OpenAI-compatible cluster name.</summary>
    public string Provider { get; private init; } = "";

    /// <summary>What the model produces.</summary>
    public ModelModality Modality { get; private init; }

    /// <summary>The encoding to count tokens with: the model's own, or <see cref="ApproximationEncoding"/> when approximated.</summary>
    public string Encoding { get; private init; } = ApproximationEncoding;

    /// <summary>Factor applied to <see cref="Encoding"/> counts; exactly 1 when the model's own encoding is known.</summary>
    public decimal ApproximationFactor { get; private init; } = 1m;

    /// <summary>Output tokens the estimate assumes when the request sets no maximum.</summary>
    public long ExpectedOutputTokens { get; private init; }

    /// <summary>The most output tokens the model produces for one request (0 when it produces no text tokens).</summary>
    public long MaxOutputTokens { get; private init; }

    /// <summary>How many tokens each token-class rate covers.</summary>
    public long PerTokens { get; private init; } = 1_000_000;

    /// <summary>Price of <see cref="PerTokens"/> uncached input tokens.</summary>
    public Credits Input { get; private init; }

    /// <summary>Price of <see cref="PerTokens"/> cache-read input tokens (the input rate when not configured).</summary>
    public Credits CachedInput { get; private init; }

    /// <summary>Price of <see cref="PerTokens"/> cache-write input tokens (the input rate when not configured).</summary>
    public Credits CacheWrite { get; private init; }

    /// <summary>Price of <see cref="PerTokens"/> non-reasoning output tokens.</summary>
    public Credits Output { get; private init; }

    /// <summary>Price of <see cref="PerTokens"/> reasoning tokens (the output rate when not configured).</summary>
    public Credits Reasoning { get; private init; }

    /// <summary>Price of one request: base per-request credits times the model multiplier, rounded up once at load.</summary>
    public Credits PerRequest { get; private init; }

    /// <summary>The configured per-request multiplier, kept for display.</summary>
    public decimal RequestMultiplier { get; private init; } = 1m;

    /// <summary>Price of one image when no size/quality entry matches.</summary>
    public Credits PerImage { get; private init; }

    /// <summary>Price of one generated second of video.</summary>
    public Credits PerVideoSecond { get; private init; }

    /// <summary>Price of one use of an audio model.</summary>
    public Credits PerAudioUse { get; private init; }

    /// <summary>Where the price comes from, as configured.</summary>
    public string? Source { get; private init; }

    /// <summary>Price of one image of the given size and quality: <c>size/quality</c>, then <c>size</c>, then <c>quality</c>, then <see cref="PerImage"/>.</summary>
    public Credits ImagePrice(string? size, string? quality)
    {
        if (_perImageBySize.Count == 0)
            return PerImage;
        Credits price;
        if (size is not null && quality is not null && _perImageBySize.TryGetValue($"{size}/{quality}", out price))
            return price;
        if (size is not null && _perImageBySize.TryGetValue(size, out price))
            return price;
        if (quality is not null && _perImageBySize.TryGetValue(quality, out price))
            return price;
        return PerImage;
    }

    /// <summary>Scales a token count taken with <see cref="Encoding"/> by <see cref="ApproximationFactor"/>, rounding up so estimates err high.</summary>
    public long ScaleCountedTokens(long countedTokens) =>
        ApproximationFactor == 1m ? countedTokens : checked((long)decimal.Ceiling(countedTokens * ApproximationFactor));

    /// <summary>Output tokens to estimate with: the request's maximum when it set one, else <see cref="ExpectedOutputTokens"/>.</summary>
    public long OutputTokensForEstimate(long? requestedMaxOutputTokens) =>
        requestedMaxOutputTokens is > 0 ? requestedMaxOutputTokens.Value : ExpectedOutputTokens;

    /// <summary>The per-choice output limit a hold must cover: the request's maximum when it set one, else <see cref="MaxOutputTokens"/>.</summary>
    public long OutputLimitForHold(long? requestedMaxOutputTokens) =>
        requestedMaxOutputTokens is > 0 ? requestedMaxOutputTokens.Value : MaxOutputTokens;

    /// <summary>Builds the resolved price from validated options; decimal credits become exact micro-credits here, once.</summary>
    internal static ModelPrice FromOptions(string name, ModelPriceOptions o, long defaultExpectedOutputTokens, long defaultMaxOutputTokens = 32_768)
    {
        var isText = o.Modality == ModelModality.Text;
        var maxOutput = o.MaxOutputTokens ?? (isText ? defaultMaxOutputTokens : 0);
        var input = ToCredits(o.Input);
        var output = ToCredits(o.Output);
        var multiplier = o.Multiplier ?? 1m;
        // The product of two exact micro-credit amounts can have sub-micro digits (0.333333 × 1.5); round up once, here.
        var perRequest = new Credits(checked((long)decimal.Ceiling((o.PerRequest ?? 0m) * multiplier * Credits.MicroPerCredit)));
        var bySize = o.PerImageBySize.ToFrozenDictionary(kv => kv.Key, kv => ToCredits(kv.Value), StringComparer.OrdinalIgnoreCase);
        return new ModelPrice(name, bySize)
        {
            Aliases = [.. o.Aliases],
            Provider = o.Provider ?? "",
            Modality = o.Modality,
            Encoding = o.Encoding ?? ApproximationEncoding,
            ApproximationFactor = o.Encoding is null ? o.ApproximationFactor ?? 1m : 1m,
            // The expected output never exceeds what the model can produce (a default of 1,024 on an 8,192-token model is fine,
            // on a 512-token one it is not).
            ExpectedOutputTokens = Math.Min(o.ExpectedOutputTokens ?? (isText ? defaultExpectedOutputTokens : 0), maxOutput),
            MaxOutputTokens = maxOutput,
            PerTokens = o.PerTokens,
            Input = input,
            CachedInput = o.CachedInput is null ? input : ToCredits(o.CachedInput),
            CacheWrite = o.CacheWrite is null ? input : ToCredits(o.CacheWrite),
            Output = output,
            Reasoning = o.Reasoning is null ? output : ToCredits(o.Reasoning),
            PerRequest = perRequest,
            RequestMultiplier = multiplier,
            PerImage = ToCredits(o.PerImage),
            PerVideoSecond = ToCredits(o.PerVideoSecond),
            PerAudioUse = ToCredits(o.PerAudioUse),
            Source = o.Source,
        };
    }

    /// <summary>Converts validated credits (at most six decimals, so exact) to micro-credits.</summary>
    internal static Credits ToCredits(decimal? credits) => new(checked((long)((credits ?? 0m) * Credits.MicroPerCredit)));

    /// <summary>True when a credit amount is a whole number of micro-credits and so converts without rounding.</summary>
    internal static bool IsExactMicro(decimal credits)
    {
        var micro = credits * Credits.MicroPerCredit;
        return micro == decimal.Truncate(micro);
    }
}

namespace AiGateway.Pricing;

/// <summary>The price book as bound from the <c>Pricing</c> configuration section (<c>config/prices.json</c>).</summary>
/// <remarks>
/// The committed sample book prices real provider models at their published USD prices converted at
/// 1 credit = USD 0.01; each seed product's own table sits under its own name prefix (<c>refly/</c>, <c>costrict/</c>)
/// in that product's credit unit. See the <c>_comment</c> at the top of the JSON file.
/// </remarks>
public sealed class PricingOptions
{
    /// <summary>The configuration section this binds to.</summary>
    public const string SectionName = "Pricing";

    /// <summary>Models keyed by their canonical name; keyed rather than listed so a later source (appsettings, environment) can override one model's price by name.</summary>
    public Dictionary<string, ModelPriceOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Fixed-price actions (e.g. <c>draft</c> = 2) in credits, keyed by action name.</summary>
    public Dictionary<string, decimal> Actions { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What to do with a model the book does not know.</summary>
    public UnknownModelPolicy UnknownModel { get; set; } = UnknownModelPolicy.Reject;

    /// <summary>The configured model whose price applies to unknown models when <see cref="UnknownModel"/> is <see cref="UnknownModelPolicy.Default"/>.</summary>
    public string? DefaultModel { get; set; }

    /// <summary>Output tokens the estimate assumes for models that set no <see cref="ModelPriceOptions.ExpectedOutputTokens"/>.</summary>
    public long DefaultExpectedOutputTokens { get; set; } = 1024;

    /// <summary>The maximum output tokens of text models that set no <see cref="ModelPriceOptions.MaxOutputTokens"/>.</summary>
    public long DefaultMaxOutputTokens { get; set; } = 32_768;
}

/// <summary>How calls naming an unpriced model are handled.</summary>
public enum UnknownModelPolicy
{
    /// <summary>The model does not resolve; the caller answers 400/404.</summary>
    Reject,

    /// <summary>The model is priced as <see cref="PricingOptions.DefaultModel"/>.</summary>
    Default,
}

namespace AiGateway.Pricing;

/// <summary>One model's entry in the price book as configured; prices are credits (decimal) and become micro-credits at load.</summary>
public sealed class ModelPriceOptions
{
    /// <summary>Other names that resolve to this model (e.g. <c>openai/gpt-4o</c>, <c>chatgpt-4o-latest</c>).</summary>
    public List<string> Aliases { get; set; } = [];

    /// <summary>Upstream: <c>openai</c>, <c>anthropic</c>, <c>gemini</c> or an OpenAI-compatible cluster name such as <c>deepseek</c>.</summary>
    public string? Provider { get; set; }

    /// <summary>What the model produces; decides which units the estimate should expect.</summary>
    public ModelModality Modality { get; set; } = ModelModality.Text;

    /// <summary>The model's own tokenizer encoding (<c>o200k_base</c> or <c>cl100k_base</c>); exclusive with <see cref="ApproximationFactor"/>.</summary>
    public string? Encoding { get; set; }

    /// <summary>For models without a public tokenizer: count with <c>o200k_base</c> and multiply by this factor.</summary>
    public decimal? ApproximationFactor { get; set; }

    /// <summary>Output tokens the estimate assumes when the request sets no maximum (until recent calls teach a better value).</summary>
    public long? ExpectedOutputTokens { get; set; }

    /// <summary>
    /// The most output tokens (reasoning included) the model produces for one request, as the provider publishes it:
    /// what a request without its own limit is held for, and the most output a call is charged for.
    /// </summary>
    public long? MaxOutputTokens { get; set; }

    /// <summary>How many tokens each token-class price covers (e.g. 1000000, or 5000 for a per-5K-token table).</summary>
    public long PerTokens { get; set; } = 1_000_000;

    /// <summary>Credits per <see cref="PerTokens"/> uncached input tokens.</summary>
    public decimal? Input { get; set; }

    /// <summary>Credits per <see cref="PerTokens"/> input tokens read from the prompt cache; falls back to <see cref="Input"/>.</summary>
    public decimal? CachedInput { get; set; }

    /// <summary>Credits per <see cref="PerTokens"/> input tokens written to the prompt cache; falls back to <see cref="Input"/>.</summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>Credits per <see cref="PerTokens"/> output tokens that are not reasoning.</summary>
    public decimal? Output { get; set; }

    /// <summary>Credits per <see cref="PerTokens"/> reasoning tokens; falls back to <see cref="Output"/>.</summary>
    public decimal? Reasoning { get; set; }

    /// <summary>Base credits per request, multiplied by <see cref="Multiplier"/> (CoStrict style).</summary>
    public decimal? PerRequest { get; set; }

    /// <summary>The model's per-request multiplier (e.g. 0.5 or 1.5); 1 when omitted.</summary>
    public decimal? Multiplier { get; set; }

    /// <summary>Credits per generated image when no size/quality entry matches.</summary>
    public decimal? PerImage { get; set; }

    /// <summary>Credits per image keyed by <c>size/quality</c>, <c>size</c> or <c>quality</c> (e.g. <c>1024x1792/hd</c>), tried in that order.</summary>
    public Dictionary<string, decimal> PerImageBySize { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Credits per generated second of video.</summary>
    public decimal? PerVideoSecond { get; set; }

    /// <summary>Credits per use of an audio model.</summary>
    public decimal? PerAudioUse { get; set; }

    /// <summary>Where the price comes from (pricing page and month, or seed file); data, not logic.</summary>
    public string? Source { get; set; }
}

/// <summary>What a model produces.</summary>
public enum ModelModality
{
    /// <summary>Text (chat, completions, embeddings); priced by tokens or per request.</summary>
    Text,

    /// <summary>Images; priced per image.</summary>
    Image,

    /// <summary>Video; priced per generated second.</summary>
    Video,

    /// <summary>Audio; priced per use.</summary>
    Audio,
}

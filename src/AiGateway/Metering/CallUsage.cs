namespace AiGateway.Metering;

/// <summary>
/// What one call consumed, as reported by the provider (or counted by the gateway).
/// Cached-input, cache-write and reasoning tokens are sub-counts: cached + cache writes ⊆ input, reasoning ⊆ output.
/// </summary>
public sealed record CallUsage
{
    /// <summary>All input (prompt) tokens, including cached ones.</summary>
    public long InputTokens { get; init; }

    /// <summary>The part of <see cref="InputTokens"/> served from the provider's prompt cache (cache reads).</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>The part of <see cref="InputTokens"/> written to the provider's prompt cache (Anthropic cache_creation_input_tokens).</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>All output tokens, including reasoning tokens.</summary>
    public long OutputTokens { get; init; }

    /// <summary>The part of <see cref="OutputTokens"/> spent on reasoning.</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Generated images.</summary>
    public int Images { get; init; }

    /// <summary>Generated video seconds.</summary>
    public int VideoSeconds { get; init; }

    /// <summary>Audio uses (one per call to an audio model).</summary>
    public int AudioUses { get; init; }

    /// <summary>No usage at all.</summary>
    public static readonly CallUsage None = new();
}

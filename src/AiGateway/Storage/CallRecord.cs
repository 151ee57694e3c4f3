namespace AiGateway.Storage;

/// <summary>One metered client request, as recorded after it ended: what it used, what it cost, how it went.</summary>
public sealed class CallRecord
{
    public long Id { get; set; }

    /// <summary>The gateway request id (the <c>X-Request-Id</c> header).</summary>
    public required string RequestId { get; set; }

    public Guid AccountId { get; set; }
    public Guid KeyId { get; set; }
    public required string Route { get; set; }

    /// <summary>The cluster the call was sent to (openai, anthropic, gemini, deepseek…).</summary>
    public required string Provider { get; set; }

    /// <summary>The model as the client named it.</summary>
    public required string Model { get; set; }

    /// <summary>The price-book model it was priced as.</summary>
    public string? PricedModel { get; set; }

    public required string Operation { get; set; }
    public bool Stream { get; set; }
    public long InputTokens { get; set; }
    public long CachedInputTokens { get; set; }
    public long CacheWriteInputTokens { get; set; }
    public long OutputTokens { get; set; }
    public long ReasoningTokens { get; set; }
    public int Images { get; set; }
    public int VideoSeconds { get; set; }
    public int AudioUses { get; set; }
    public long EstimatedInputTokens { get; set; }
    public long EstimatedOutputTokens { get; set; }

    /// <summary>The pre-call estimate in micro-credits.</summary>
    public long EstimateMicro { get; set; }

    /// <summary>What was charged in micro-credits (0 for failed calls and unlimited models).</summary>
    public long ChargedMicro { get; set; }

    /// <summary>The part of the charge the lots could not cover (booked as overage debt).</summary>
    public long OverageMicro { get; set; }

    /// <summary>The HTTP status the client received.</summary>
    public int StatusCode { get; set; }

    /// <summary>The usage source of a call the gateway stopped serving before it ended (nothing charged, unless shown).</summary>
    public const string InterruptedUsageSource = "interrupted";

    /// <summary><c>provider</c> (usage reported), <c>estimated</c> (2xx without usage), <c>partial</c> (client left mid-stream), <c>none</c> (not charged).</summary>
    public required string UsageSource { get; set; }

    /// <summary>Whether the output limit was lowered to what the balance affords (plan policy <c>clamp</c>).</summary>
    public bool Clamped { get; set; }

    /// <summary>Whether the model is unlimited for the account's plan (recorded, charged 0).</summary>
    public bool Unlimited { get; set; }

    /// <summary>How many upstream attempts were made.</summary>
    public int AttemptCount { get; set; }

    /// <summary>The attempts, e.g. <c>primary:503;backup:200</c>.</summary>
    public string? Attempts { get; set; }

    /// <summary>A short, prompt-free description of what went wrong, if anything.</summary>
    public string? Error { get; set; }

    /// <summary>The client's feature tag (<c>X-Gateway-Feature</c>).</summary>
    public string? Feature { get; set; }

    /// <summary>The client's task id (<c>X-Gateway-Task</c>).</summary>
    public string? Task { get; set; }

    public DateTimeOffset StartedAt { get; set; }
    public int DurationMs { get; set; }

    /// <summary>Milliseconds until the upstream's response headers, if it answered.</summary>
    public int? FirstByteMs { get; set; }

    /// <summary>Whether the reported usage was cut to what the request allowed (or the charge to the hold of a no-debt plan).</summary>
    public bool UsageClamped { get; set; }
}

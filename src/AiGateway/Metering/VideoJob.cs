namespace AiGateway.Metering;

/// <summary>
/// An asynchronous video job created through the gateway whose hold is still open: settled when a status poll (the
/// client's, passing through, or the gateway's own <see cref="VideoJobPoller"/>) shows it <c>completed</c>, released when
/// one shows it <c>failed</c>.
/// </summary>
public sealed class VideoJob
{
    /// <summary>The account that created the job (only its polls resolve it).</summary>
    public Guid AccountId { get; set; }

    /// <summary>The provider's job id (<c>video_…</c>).</summary>
    public required string VideoId { get; set; }

    /// <summary>The creating request, whose hold the job keeps.</summary>
    public required string RequestId { get; set; }

    /// <summary>What the job costs once completed (its seconds at the model's price), in micro-credits.</summary>
    public long CostMicro { get; set; }

    /// <summary>The priced model, for the lot scope of the settlement.</summary>
    public required string PricedModel { get; set; }

    /// <summary>When the job was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When a poll resolved it; null while pending.</summary>
    public DateTimeOffset? ResolvedAt { get; set; }

    /// <summary><c>completed</c>, <c>failed</c> or <c>expired</c> (still pending at <c>Metering:VideoJobHoldTtl</c>) once resolved.</summary>
    public string? Outcome { get; set; }

    /// <summary>The proxy cluster the job was created on, whose destination and key the gateway polls it with (null: <c>openai</c>).</summary>
    public string? Cluster { get; set; }
}

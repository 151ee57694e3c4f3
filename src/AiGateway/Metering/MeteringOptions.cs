namespace AiGateway.Metering;

/// <summary>Settings of the metered call pipeline, bound from the <c>Metering</c> section.</summary>
public sealed class MeteringOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Metering";

    /// <summary>Turns metering off: provider routes are then only authenticated and forwarded (for benchmarks and emergencies).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A video job's own bound: its hold is kept open this long waiting for a poll that shows it completed or failed;
    /// a job still pending then is given up (hold released, outcome <c>expired</c>).
    /// </summary>
    public TimeSpan VideoJobHoldTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The gateway's own polling of pending video jobs: the first poll and the base of the backoff.</summary>
    public TimeSpan VideoPollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest pause between two polls of one pending video job (the backoff doubles up to it).</summary>
    public TimeSpan VideoPollMaxInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many video job polls one instance runs at once.</summary>
    public int VideoPollConcurrency { get; set; } = 4;

    /// <summary>Upstream attempts per client request, across the cluster's destinations (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The longest upstream <c>Retry-After</c> the gateway waits out before retrying; longer ones go back to the client.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The pause between attempts when the upstream gave no <c>Retry-After</c>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A stream that sends nothing for this long is cut (and charged for what was delivered).</summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest a stream may run; an endless stream is cut then and charged for what was delivered.</summary>
    public TimeSpan MaxStreamDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long the gateway keeps reading a stream's upstream after its client left, to reach the usage report the
    /// provider bills by (reasoning included); zero stops at once and charges only what was counted.
    /// </summary>
    public TimeSpan DrainAfterDisconnect { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most bytes read from a stream's upstream after its client left (see <see cref="DrainAfterDisconnect"/>).</summary>
    public long DrainMaxBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Reported input is charged up to the counted prompt times this factor plus <see cref="ReportedInputSlackTokens"/>.</summary>
    public long ReportedInputFactor { get; set; } = 4;

    /// <summary>
    /// Input tokens a report may exceed the counted prompt by (images, files and server-side conversation state are not
    /// counted by the gateway): 1,048,576, the largest context window in the price book.
    /// </summary>
    public long ReportedInputSlackTokens { get; set; } = 1_048_576;

    /// <summary>The largest non-streaming response the gateway buffers to read its usage before answering.</summary>
    public int MaxBufferedResponseBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Where settlements and call records wait while the database is unavailable.</summary>
    public string JournalPath { get; set; } = "data/settlement-journal.jsonl";

    /// <summary>How often the journal is retried.</summary>
    public TimeSpan JournalReplayInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Failures (in <see cref="BreakerSamplingDuration"/>) that open a destination's circuit.</summary>
    public int BreakerMinimumThroughput { get; set; } = 5;

    /// <summary>The failure ratio that opens a destination's circuit.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The window over which failures are counted.</summary>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit skips its destination.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}

using System.Diagnostics;
using System.Text;
using AiGateway.Accounts;
using AiGateway.Pricing;
using AiGateway.Providers;

namespace AiGateway.Metering;

/// <summary>The state of one metered client request as it moves through the pipeline (an HttpContext feature).</summary>
public sealed class MeteredCall(string requestId, CallerAccount caller, ParsedRequest request, CallEstimate estimate, string route, string provider, DateTimeOffset startedAt)
{
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly StringBuilder _attempts = new();
    private string? _openAttempt;

    public string RequestId { get; } = requestId;
    public CallerAccount Caller { get; } = caller;
    public ParsedRequest Request { get; } = request;
    public string Route { get; } = route;
    public string Provider { get; } = provider;
    public DateTimeOffset StartedAt { get; } = startedAt;

    private readonly CancellationTokenSource _stopped = new();

    /// <summary>Cancelled when the call must stop being served at once (its hold is lost): no drain, no more upstream reading.</summary>
    public CancellationToken Stopped => _stopped.Token;

    /// <summary>Why the gateway stopped the call, when it did (the first reason wins); <see cref="Error"/> shows it.</summary>
    public string? StopReason => Volatile.Read(ref _stopReason);
    private string? _stopReason;

    /// <summary>Stops the call (see <see cref="Stopped"/>) for <paramref name="reason"/>.</summary>
    public void Stop(string reason)
    {
        Interlocked.CompareExchange(ref _stopReason, reason, null);
        _stopped.Cancel();
    }

    /// <summary>The error shape the client expects: the route's format, or OpenAI's for a call the unified endpoint translated.</summary>
    public ProviderFormat ClientFormat { get; init; } = request.Format;

    /// <summary>The product feature the call belongs to (<c>X-Gateway-Feature</c>), if any.</summary>
    public string? Feature { get; init; }

    /// <summary>The agent task the call belongs to (<c>X-Gateway-Task</c>), if any.</summary>
    public string? Task { get; init; }

    /// <summary>The task's credit ceiling sent with this call (<c>X-Gateway-Task-Budget</c>), if any.</summary>
    public Credits? TaskBudget { get; init; }

    /// <summary>The estimate (expected credits) and the hold (worst case) of the call, after any clamp.</summary>
    public CallEstimate Estimate { get; set; } = estimate;

    /// <summary>The priced model and modality, which decide the scoped lots that may pay for the call.</summary>
    public Ledger.CallScope Scope => new(Estimate.Price.Name, Estimate.Price.Modality.ToString().ToLowerInvariant());

    /// <summary>Whether a ledger hold exists for this call (unlimited models hold nothing).</summary>
    public bool Held { get; set; }

    /// <summary>The call's hold against this instance's credit lease, when it holds in memory rather than in the database.</summary>
    public Ledger.CreditLeases.LeasedHold? LeasedHold { get; set; }

    /// <summary>Whether the model costs nothing on the caller's plan.</summary>
    public bool Unlimited { get; set; }

    /// <summary>Whether the output limit was lowered to what the balance affords (clamp plans; other plans' requests without a limit).</summary>
    public bool Clamped { get; set; }

    /// <summary>Whether the caller's plan must never go into debt (<c>clamp</c>): its charge never exceeds the hold.</summary>
    public bool NoDebt { get; set; }

    /// <summary>The output limit the gateway writes into the forwarded request (clamp, or the limit the hold covers); null to forward the client's.</summary>
    public int? ForwardedOutputLimit { get; set; }

    /// <summary>Whether the charged usage was cut to what the request allowed (or the charge to the hold of a no-debt plan).</summary>
    public bool UsageClamped { get; set; }

    /// <summary>Whether the gateway asked for stream usage on the client's behalf (so the usage chunk is hidden).</summary>
    public bool HideUsageChunk { get; set; }

    /// <summary>Available credits after the hold (for streaming headers).</summary>
    public Credits AvailableAfterHold { get; set; }

    /// <summary>Set by the forwarder before each attempt: a retriable upstream answer may be retried instead of returned.</summary>
    public bool CanRetry { get; set; }

    /// <summary>Set by the response step when it withheld a retriable upstream answer.</summary>
    public bool RetryRequested { get; set; }

    /// <summary>The upstream's <c>Retry-After</c> of a withheld answer.</summary>
    public TimeSpan? RetryAfter { get; set; }

    /// <summary>The upstream status of the final attempt, when one answered.</summary>
    public int? UpstreamStatus { get; set; }

    /// <summary>Milliseconds from the start until the final upstream answered.</summary>
    public int? FirstByteMs { get; set; }

    /// <summary>The outcome once settled or released; null while open.</summary>
    public CallSettlement? Settlement { get; set; }

    /// <summary>
    /// The record stored in the same transaction as the call's settlement (a leased call), as stored; null when none was
    /// (exact holds, released or journaled calls). The end of the call writes a correction only if its record differs.
    /// </summary>
    public Storage.CallRecord? SettledRecord { get; set; }

    /// <summary>Whether the settlement went to the local journal because the database was unavailable.</summary>
    public bool Journaled { get; set; }

    /// <summary>
    /// What went wrong, without prompt text. Once the gateway stopped the call, its <see cref="StopReason"/>: what the cut
    /// then looks like from inside (a client connection the gateway dropped itself) is not what happened.
    /// </summary>
    public string? Error
    {
        get => StopReason ?? _error;
        set => _error = value;
    }

    private string? _error;

    /// <summary>Attempts made so far.</summary>
    public int AttemptCount { get; private set; }

    /// <summary>The attempts as <c>destination:status</c> pairs.</summary>
    public string Attempts => _attempts.ToString();

    /// <summary>
    /// The attempts as they will read once the attempt still open ends answering <paramref name="status"/> (the record
    /// stored with a settlement, which happens while the final attempt's response passes).
    /// </summary>
    public string AttemptsEndingWith(int status) =>
        _openAttempt is null ? Attempts : $"{Attempts}{(_attempts.Length > 0 ? ";" : "")}{_openAttempt}:{status}";

    /// <summary>Milliseconds since the call started.</summary>
    public int ElapsedMs => (int)Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    /// <summary>When the current upstream attempt started (a <see cref="Stopwatch"/> timestamp).</summary>
    public long AttemptStartedAt { get; private set; }

    /// <summary>Starts a new upstream attempt (to <paramref name="destination"/>), resetting what the previous one left.</summary>
    public void BeginAttempt(bool canRetry, string destination)
    {
        AttemptCount++;
        _openAttempt = destination;
        AttemptStartedAt = Stopwatch.GetTimestamp();
        CanRetry = canRetry;
        RetryRequested = false;
        RetryAfter = null;
        UpstreamStatus = null;
    }

    /// <summary>Notes how an attempt ended.</summary>
    public void EndAttempt(string destination, string outcome)
    {
        _openAttempt = null;
        if (_attempts.Length > 0) _attempts.Append(';');
        _attempts.Append(destination).Append(':').Append(outcome);
    }
}

/// <summary>How a call's credits ended up.</summary>
public sealed record CallSettlement(CallUsage Usage, string UsageSource, Credits Charged, Credits Overage, Credits AvailableAfter);

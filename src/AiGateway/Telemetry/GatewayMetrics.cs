using System.Diagnostics;
using System.Diagnostics.Metrics;
using AiGateway.Metering;

namespace AiGateway.Telemetry;

/// <summary>
/// The gateway's <see cref="System.Diagnostics.Metrics"/> instruments (meter <see cref="MeterName"/>), in one place so the
/// pipeline's steps record with one-line calls. Tags are bounded sets from configuration (provider = cluster id,
/// model = the price book's name, never the client's model string), status classes and fixed reasons: never an
/// account, a key, a request id or prompt text (cardinality and privacy). With no listener (metrics off) an instrument
/// call is a flag check.
/// </summary>
public sealed class GatewayMetrics
{
    /// <summary>The meter's name (what an OpenTelemetry <c>AddMeter</c> or a <see cref="MeterListener"/> selects).</summary>
    public const string MeterName = "AiGateway";

    /// <summary>
    /// The ledger's meter: its <c>aigateway.ledger.transactions</c> counter is published by <c>CreditLedger</c> (one per
    /// ledger); the operation latency below is static because ledger sessions have no container at hand.
    /// </summary>
    public const string LedgerMeterName = "AiGateway.Ledger";

    private static readonly Meter LedgerMeter = new(LedgerMeterName);

    private static readonly Histogram<double> LedgerOperationDuration = LedgerMeter.CreateHistogram(
        "aigateway.ledger.operation.duration", unit: "s", description: "Time a ledger operation holds its database transaction (or group-commit savepoint).",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    /// <summary>A ledger operation begun at <paramref name="startedAt"/> (a <see cref="Stopwatch"/> timestamp) committed or rolled back.</summary>
    internal static void LedgerOperationEnded(long startedAt, bool committed)
    {
        if (LedgerOperationDuration.Enabled)
            LedgerOperationDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds,
                new KeyValuePair<string, object?>("outcome", committed ? "commit" : "rollback"));
    }

    private readonly Counter<long> _calls;
    private readonly Counter<long> _charged;
    private readonly Counter<long> _held;
    private readonly Counter<long> _admissionRefusals;
    private readonly Counter<long> _rateLimitRefusals;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _upstreamAttempts;
    private readonly UpDownCounter<long> _openStreams;

    /// <summary>Creates the instruments on a meter from the host's <see cref="IMeterFactory"/>; observable ones read <paramref name="services"/> when collected.</summary>
    public GatewayMetrics(IMeterFactory meterFactory, IServiceProvider services)
    {
        var meter = meterFactory.Create(MeterName);
        _calls = meter.CreateCounter<long>("aigateway.calls", unit: "{call}",
            description: "Metered calls ended (refused ones included), by provider, priced model, status class and usage source.");
        _charged = meter.CreateCounter<long>("aigateway.credits.charged", unit: "{micro-credit}",
            description: "Micro-credits charged for metered calls (the sum of X-Credits-Charged).");
        _held = meter.CreateCounter<long>("aigateway.credits.held", unit: "{micro-credit}",
            description: "Micro-credits held at admission (each call's worst case).");
        _admissionRefusals = meter.CreateCounter<long>("aigateway.admission.refusals", unit: "{call}",
            description: "Metered calls refused at admission, by reason (insufficient_quota, task_budget_exceeded, ledger_unavailable, ...).");
        _rateLimitRefusals = meter.CreateCounter<long>("aigateway.rate_limit.refusals", unit: "{call}",
            description: "Provider calls refused with 429 by the gateway's own limits, by limit (key, account, concurrency, failed_auth).");
        // Seconds need their own buckets (the exporters' defaults suit milliseconds): model answers take from 50 ms to minutes.
        _upstreamDuration = meter.CreateHistogram("aigateway.upstream.duration", unit: "s",
            description: "Time from sending an upstream attempt to its response headers, by provider and status class.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });
        _upstreamAttempts = meter.CreateCounter<long>("aigateway.upstream.attempts", unit: "{attempt}",
            description: "Upstream attempts (retries and failovers included), by provider and outcome.");
        _openStreams = meter.CreateUpDownCounter<long>("aigateway.streams.open", unit: "{stream}",
            description: "Metered streams being relayed now, by provider.");
        meter.CreateObservableGauge("aigateway.settlement_journal.depth",
            () => services.GetService<SettlementJournal>()?.Depth ?? 0, unit: "{entry}",
            description: "Settlements and call records waiting in the local journal for the database.");
        meter.CreateObservableGauge("aigateway.circuit_breaker.state",
            () => services.GetService<Proxy.ResilientForwarder>()?.BreakerStates() ?? [], unit: "{state}",
            description: "Each upstream destination's circuit: 0 closed, 1 half-open, 2 open, 3 isolated.");
    }

    /// <summary>A metered call ended with <paramref name="statusCode"/> (its record is being written).</summary>
    public void CallEnded(MeteredCall call, int statusCode)
    {
        if (!_calls.Enabled) return;
        _calls.Add(1, new TagList
        {
            { "provider", call.Provider }, { "model", call.Estimate.Price.Name }, { "status_class", StatusClass(statusCode) },
            { "usage_source", call.Settlement?.UsageSource ?? CallSettler.Sources.None },
        });
    }

    /// <summary>A call's settlement charged <paramref name="charged"/> (journaled settlements included: they are owed).</summary>
    public void Charged(MeteredCall call, Pricing.Credits charged)
    {
        if (charged.Micro != 0) _charged.Add(charged.Micro, new("provider", call.Provider), new("model", call.Estimate.Price.Name));
    }

    /// <summary>A call was admitted with a hold of its worst case.</summary>
    public void Held(MeteredCall call)
    {
        if (call.Held) _held.Add(call.Estimate.Held.Micro, new("provider", call.Provider), new("model", call.Estimate.Price.Name));
    }

    /// <summary>A metered call was refused at admission; <paramref name="reason"/> is an error code, never free text.</summary>
    public void AdmissionRefused(string reason) => _admissionRefusals.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A provider call was refused by one of the gateway's rate limits.</summary>
    public void RateLimited(string limit) => _rateLimitRefusals.Add(1, new KeyValuePair<string, object?>("limit", limit));

    /// <summary>An upstream attempt answered (response headers in) with <paramref name="status"/>.</summary>
    public void UpstreamAnswered(MeteredCall call, int status)
    {
        if (_upstreamDuration.Enabled)
            _upstreamDuration.Record(Stopwatch.GetElapsedTime(call.AttemptStartedAt).TotalSeconds,
                new("provider", call.Provider), new("status_class", StatusClass(status)));
    }

    /// <summary>An upstream attempt ended; <paramref name="outcome"/> is a status class or a forwarder error name.</summary>
    public void AttemptEnded(MeteredCall call, string outcome) =>
        _upstreamAttempts.Add(1, new("provider", call.Provider), new("outcome", outcome));

    /// <summary>A metered stream started (+1) or ended (-1).</summary>
    public void StreamOpen(MeteredCall call, bool open) => _openStreams.Add(open ? 1 : -1, new KeyValuePair<string, object?>("provider", call.Provider));

    /// <summary>An HTTP status as its class (<c>2xx</c>…); 0 (no answer) is <c>none</c>.</summary>
    public static string StatusClass(int status) => status switch
    {
        >= 200 and < 300 => "2xx",
        >= 300 and < 400 => "3xx",
        >= 400 and < 500 => "4xx",
        >= 500 and < 600 => "5xx",
        _ => "none",
    };
}

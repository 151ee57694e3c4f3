using AiGateway.Pricing;
using AiGateway.Storage;
namespace AiGateway.Metering;

/// <summary>Step "record": writes one call record per metered client request, whatever its outcome.</summary>
public sealed class CallRecorder(
    CallRecordWriter writer, SettlementJournal journal, Ledger.CreditLeases leases, Telemetry.GatewayMetrics metrics, ILogger<CallRecorder> logger)
{
    /// <summary>Error text of an interrupted call's record.</summary>
    public const string InterruptedError = "interrupted: the gateway stopped before the call ended; not charged";

    /// <summary>Stores the call's record; a storage failure is logged, never thrown at the client.</summary>
    public async Task RecordAsync(MeteredCall call, int statusCode, string? feature, string? task)
    {
        metrics.CallEnded(call, statusCode);
        try
        {
            var record = Build(call, statusCode, feature, task);
            if (call.SettledRecord is { } stored)
            {
                // Stored with the settlement: written again only when what it shows changed since (never a second record).
                if (!SameOutcome(stored, record)) await CorrectAsync(call, stored, record);
                return;
            }
            await StoreAsync(call, record);
        }
        finally
        {
            // Stored or journaled: the admission marker of a leased call is no longer needed (a journaled record replaces
            // an interrupted one when replayed).
            if (call.LeasedHold is { } leased) leases.Recorded(leased);
        }
    }

    private async Task StoreAsync(MeteredCall call, CallRecord record)
    {
        if (call.Journaled)
        {
            // Its settlement waits in the journal; the record goes with it so both land together.
            await JournalAsync(call, record);
            return;
        }
        try
        {
            await writer.WriteAsync(record);
        }
        catch (Exception ex)
        {
            MeteringLog.CallRecordNotStored(logger, ex, call.RequestId, record.ChargedMicro);
            await JournalAsync(call, record);
        }
    }

    /// <summary>
    /// Replaces the record stored with the settlement by the call's final one (same row), keeping the stored duration
    /// (a settled call's duration ends with the provider's answer, see <see cref="AtSettlement"/>). When the database is
    /// unavailable the correction is journaled and applied when it answers again; any other failure is logged: the
    /// stored record keeps the charge and usage, only the later outcome (e.g. the client leaving) is missing.
    /// </summary>
    private async Task CorrectAsync(MeteredCall call, CallRecord stored, CallRecord record)
    {
        record.DurationMs = stored.DurationMs;
        try
        {
            await writer.ReplaceAsync(record);
        }
        catch (Exception ex) when (DatabaseFailure.IsOutage(ex))
        {
            MeteringLog.CallRecordCorrectionJournaled(logger, ex, call.RequestId);
            await journal.AppendAsync(new SettlementJournal.Entry(
                SettlementJournal.Entry.CorrectKind, call.RequestId, call.Caller.AccountId, call.Held, 0, record));
        }
        catch (Exception ex)
        {
            MeteringLog.CallRecordCorrectionNotStored(logger, ex, call.RequestId);
        }
    }

    /// <summary>
    /// The record of a call at its settlement, stored in the settlement's transaction: the call as it stands, with
    /// the usage and charge being settled (the batch sets charged and overage to what it made), the upstream's status,
    /// and the final attempt as it will read when it ends. Its duration runs to the settlement, which is when the
    /// provider's answer was read to its end (the JSON body, or the stream's usage report), before the client got the
    /// last bytes: a settled call's duration is not extended by delivering them.
    /// </summary>
    public static CallRecord AtSettlement(MeteredCall call, CallUsage usage, string source, Credits cost)
    {
        var status = call.UpstreamStatus ?? StatusCodes.Status200OK;
        var record = Build(call, status, call.Feature, call.Task, new CallSettlement(usage, source, cost, Credits.Zero, Credits.Zero));
        record.Attempts = Truncate(call.AttemptsEndingWith(status), 1000);
        return record;
    }

    /// <summary>
    /// Whether two records of one call show the same outcome: every field but the row id and the duration (which the
    /// settlement-time record measures to the provider's end of answer, the final one to the end of the response).
    /// </summary>
    internal static bool SameOutcome(CallRecord a, CallRecord b) =>
        a.RequestId == b.RequestId && a.AccountId == b.AccountId && a.KeyId == b.KeyId && a.Route == b.Route && a.Provider == b.Provider
        && a.Model == b.Model && a.PricedModel == b.PricedModel && a.Operation == b.Operation && a.Stream == b.Stream
        && a.InputTokens == b.InputTokens && a.CachedInputTokens == b.CachedInputTokens && a.CacheWriteInputTokens == b.CacheWriteInputTokens
        && a.OutputTokens == b.OutputTokens && a.ReasoningTokens == b.ReasoningTokens && a.Images == b.Images
        && a.VideoSeconds == b.VideoSeconds && a.AudioUses == b.AudioUses && a.EstimatedInputTokens == b.EstimatedInputTokens
        && a.EstimatedOutputTokens == b.EstimatedOutputTokens && a.EstimateMicro == b.EstimateMicro && a.ChargedMicro == b.ChargedMicro
        && a.OverageMicro == b.OverageMicro && a.StatusCode == b.StatusCode && a.UsageSource == b.UsageSource && a.Clamped == b.Clamped
        && a.Unlimited == b.Unlimited && a.AttemptCount == b.AttemptCount && a.Attempts == b.Attempts && a.Error == b.Error
        && a.Feature == b.Feature && a.Task == b.Task && a.StartedAt == b.StartedAt && a.FirstByteMs == b.FirstByteMs
        && a.UsageClamped == b.UsageClamped;

    /// <summary>
    /// The record the call's hold carries in case the call never ends (the process is killed, or loses the database
    /// for longer than the hold lives): stored by the ledger's sweep when the hold expires unresolved, unless the call
    /// was recorded. Status 0 (no answer is known), usage source <c>interrupted</c>, nothing charged.
    /// </summary>
    public static CallRecord Interrupted(MeteredCall call)
    {
        var record = Build(call, statusCode: 0, call.Feature, call.Task);
        record.UsageSource = CallSettler.Sources.Interrupted;
        record.Error = InterruptedError;
        return record;
    }

    /// <summary>The record of a call as it stands (its settlement, if any, gives usage and charge).</summary>
    private static CallRecord Build(MeteredCall call, int statusCode, string? feature, string? task) =>
        Build(call, statusCode, feature, task, call.Settlement);

    private static CallRecord Build(MeteredCall call, int statusCode, string? feature, string? task, CallSettlement? settlement)
    {
        var usage = settlement?.Usage ?? CallUsage.None;
        return new CallRecord
        {
            RequestId = call.RequestId,
            AccountId = call.Caller.AccountId,
            KeyId = call.Caller.KeyId,
            Route = call.Route,
            Provider = call.Provider,
            Model = Truncate(call.Request.Model, 200) ?? "",
            PricedModel = call.Estimate.Price.Name,
            Operation = call.Request.Operation.ToString(),
            Stream = call.Request.Stream,
            InputTokens = usage.InputTokens,
            CachedInputTokens = usage.CachedInputTokens,
            CacheWriteInputTokens = usage.CacheWriteInputTokens,
            OutputTokens = usage.OutputTokens,
            ReasoningTokens = usage.ReasoningTokens,
            Images = usage.Images,
            VideoSeconds = usage.VideoSeconds,
            AudioUses = usage.AudioUses,
            EstimatedInputTokens = call.Estimate.InputTokens,
            EstimatedOutputTokens = call.Estimate.OutputTokens,
            EstimateMicro = call.Estimate.Credits.Micro,
            ChargedMicro = settlement?.Charged.Micro ?? 0,
            OverageMicro = settlement?.Overage.Micro ?? 0,
            StatusCode = statusCode,
            UsageSource = settlement?.UsageSource ?? CallSettler.Sources.None,
            Clamped = call.Clamped,
            Unlimited = call.Unlimited,
            AttemptCount = call.AttemptCount,
            Attempts = Truncate(call.Attempts, 1000),
            Error = Truncate(call.Error, 500),
            Feature = Truncate(feature, 100),
            Task = Truncate(task, 200),
            StartedAt = call.StartedAt,
            DurationMs = call.ElapsedMs,
            FirstByteMs = call.FirstByteMs,
            UsageClamped = call.UsageClamped,
        };
    }

    private Task JournalAsync(MeteredCall call, CallRecord record) =>
        journal.AppendAsync(new SettlementJournal.Entry(SettlementJournal.Entry.RecordKind, call.RequestId, call.Caller.AccountId, call.Held, 0, record));

    /// <summary>Inserts a record unless one with its request id exists (replays are idempotent); it replaces an <c>interrupted</c> one.</summary>
    public Task InsertAsync(CallRecord record) => writer.InsertCheckedAsync(record);

    /// <summary>Replaces a call's stored record in place (a journaled correction; replays are idempotent).</summary>
    public Task ReplaceAsync(CallRecord record) => writer.ReplaceAsync(record);

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

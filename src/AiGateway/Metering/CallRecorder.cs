using AiGateway.Storage;
namespace AiGateway.Metering;

/// <summary>Step "record": writes one call record per metered client request, whatever its outcome.</summary>
public sealed class CallRecorder(CallRecordWriter writer, SettlementJournal journal, Ledger.CreditLeases leases, ILogger<CallRecorder> logger)
{
    /// <summary>Error text of an interrupted call's record.</summary>
    public const string InterruptedError = "interrupted: the gateway stopped before the call ended; not charged";

    /// <summary>Stores the call's record; a storage failure is logged, never thrown at the client.</summary>
    public async Task RecordAsync(MeteredCall call, int statusCode, string? feature, string? task)
    {
        try
        {
            await StoreAsync(call, Build(call, statusCode, feature, task));
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
            logger.LogError(ex, "Request {RequestId}: the call record could not be stored (charged {Charged} micro-credits); journaling it",
                call.RequestId, record.ChargedMicro);
            await JournalAsync(call, record);
        }
    }

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
    private static CallRecord Build(MeteredCall call, int statusCode, string? feature, string? task)
    {
        var settlement = call.Settlement;
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

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Metering;

/// <summary>Step "record": writes one call record per metered client request, whatever its outcome.</summary>
public sealed class CallRecorder(IDbContextFactory<LedgerDbContext> dbFactory, ILogger<CallRecorder> logger)
{
    // SQLite has one writer at a time, and Microsoft.Data.Sqlite answers a busy database by sleeping 150 ms before it
    // retries (Thread.Sleep, blocking the thread). Concurrent record inserts made each other wait that long under load;
    // queueing them here turns those collisions into a short async wait. PostgreSQL inserts run concurrently as before.
    private readonly SemaphoreSlim _sqliteWriter = new(1, 1);

    /// <summary>Stores the call's record; a storage failure is logged, never thrown at the client.</summary>
    public async Task RecordAsync(MeteredCall call, int statusCode, string? feature, string? task)
    {
        var settlement = call.Settlement;
        var usage = settlement?.Usage ?? CallUsage.None;
        var record = new CallRecord
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
        };
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
            db.CallRecords.Add(record);
            var gate = db.Database.IsSqlite() ? _sqliteWriter : null;
            if (gate is not null) await gate.WaitAsync(CancellationToken.None);
            try
            {
                await db.SaveChangesAsync(CancellationToken.None);
            }
            finally
            {
                gate?.Release();
            }
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Request {RequestId}: the call record could not be stored (charged {Charged} micro-credits)",
                call.RequestId, record.ChargedMicro);
        }
    }

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

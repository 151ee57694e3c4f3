using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.Options;

namespace AiGateway.Metering;

/// <summary>
/// Step "settle": turns what a call used into credits and resolves its hold exactly once — charged from the lots
/// in burn-down order on 2xx, released at no cost otherwise. Unlimited models settle at 0 with their usage recorded.
/// </summary>
public sealed class CallSettler(
    CreditLedger ledger, CreditLeases leases, SettlementJournal journal, OutputTokenStats outputStats, IOptions<MeteringOptions> options,
    Telemetry.GatewayMetrics metrics, ILogger<CallSettler> logger)
{
    /// <summary>Usage sources recorded on call records.</summary>
    public static class Sources
    {
        public const string Provider = "provider";
        public const string Estimated = "estimated";
        public const string Partial = "partial";
        public const string None = "none";
        public const string Pending = "pending";

        /// <summary>The gateway stopped before the call ended (its hold expired unresolved); nothing was charged.</summary>
        public const string Interrupted = Storage.CallRecord.InterruptedUsageSource;
    }

    /// <summary>Charges the call for <paramref name="usage"/>; never cancelled by the client leaving (the upstream already did the work).</summary>
    public async Task<CallSettlement> SettleAsync(MeteredCall call, CallUsage usage, string source)
    {
        if (call.Settlement is { } done) return done;
        using var span = Telemetry.GatewayActivitySource.StartStep("settle");
        // Per-use audio models: providers report tokens (or nothing) for them, never "uses"; a successful call is one use.
        if (usage.AudioUses == 0 && call.Estimate.Units.AudioUses > 0) usage = usage with { AudioUses = call.Estimate.Units.AudioUses };
        usage = Bound(call, usage, source);
        var cost = call.Unlimited
            ? Credits.Zero
            : CostCalculator.Cost(call.Estimate.Price, usage, call.Request.ImageSize, call.Request.ImageQuality);
        if (call.Held && call.NoDebt && cost > call.Estimate.Held)
        {
            // A clamp plan never goes into debt: what the bound still lets exceed the hold (input the gateway could not
            // count, cache writes priced above input) is not charged beyond the hold.
            MeteringLog.CostAboveNoDebtHold(logger, call.RequestId, cost, call.Estimate.Held);
            cost = call.Estimate.Held;
            call.UsageClamped = true;
        }
        if (!call.Held)
        {
            return call.Settlement = new CallSettlement(usage, source, Credits.Zero, Credits.Zero, call.AvailableAfterHold);
        }
        try
        {
            // The call's record as it stands goes with the charge, in the settlement's transaction: a crash cannot leave
            // the charge without its record, and it costs one commit, not two (the end of the call writes a correction
            // only if what its record shows changes after this).
            var record = CallRecorder.AtSettlement(call, usage, source, cost);
            var (result, recordStored) = call.LeasedHold is { } leased
                ? await leases.SettleAsync(leased, call.RequestId, cost, call.Scope, record)
                : await SettleOrChargeAsync(ledger, call.RequestId, call.Caller.AccountId, cost, logger, call.Scope, record);
            if (recordStored) call.SettledRecord = record;
            metrics.Charged(call, result.Charged);
            return call.Settlement = new CallSettlement(usage, source, result.Charged, result.Overage, result.Available);
        }
        catch (Exception ex) when (DatabaseFailure.Is(ex))
        {
            // The provider did the work: keep the charge in the local journal and apply it when the database is back.
            MeteringLog.SettlementDatabaseUnavailable(logger, ex, call.RequestId);
            await journal.AppendAsync(new SettlementJournal.Entry(SettlementJournal.Entry.Settle, call.RequestId, call.Caller.AccountId, call.Held, cost.Micro, null,
                Leased: call.LeasedHold is not null));
            call.Journaled = true;
            metrics.Charged(call, cost);
            var estimatedAfter = call.AvailableAfterHold + call.Estimate.Held - cost;
            return call.Settlement = new CallSettlement(usage, source, cost, Credits.Zero, Credits.Max(Credits.Zero, estimatedAfter));
        }
    }

    /// <summary>
    /// Cuts the usage to what the request allowed (<see cref="UsageBound"/>), flagging and logging a cut; learns the
    /// model's typical output from trustworthy reports.
    /// </summary>
    private CallUsage Bound(MeteredCall call, CallUsage usage, string source)
    {
        var bounded = UsageBound.Apply(call, usage, options.Value, out var clamped);
        if (clamped)
        {
            call.UsageClamped = true;
            MeteringLog.UsageBeyondBound(logger, call.RequestId, source, usage.InputTokens, usage.OutputTokens, usage.Images, usage.VideoSeconds,
                bounded.InputTokens, bounded.OutputTokens);
        }
        else if (source == Sources.Provider && call.Estimate.OutputLimit is > 0 && call.Estimate.Price.Modality == ModelModality.Text)
        {
            outputStats.Observe(call.Estimate.Price, bounded.OutputTokens / Math.Max(1, call.Request.N));
        }
        return bounded;
    }

    /// <summary>Settles a request's hold; when the hold is gone (expired past its TTL) charges in one step so the work is never given away.</summary>
    /// <remarks>A null <paramref name="scope"/> (e.g. a journal replay, which does not know the call) lets every lot pay.</remarks>
    public static async Task<SettleResult> SettleOrChargeAsync(
        CreditLedger ledger, string requestId, Guid accountId, Credits cost, ILogger logger, CallScope? scope = null) =>
        (await SettleOrChargeAsync(ledger, requestId, accountId, cost, logger, scope, record: null)).Result;

    /// <summary>
    /// As <see cref="SettleOrChargeAsync(CreditLedger, string, Guid, Credits, ILogger, CallScope?)"/>, with the call's
    /// record in the settlement's transaction when the hold settles (<c>RecordStored</c>); a late one-step charge stores
    /// no record (the caller records the call as a call without a stored record is).
    /// </summary>
    public static async Task<(SettleResult Result, bool RecordStored)> SettleOrChargeAsync(
        CreditLedger ledger, string requestId, Guid accountId, Credits cost, ILogger logger, CallScope? scope, Storage.CallRecord? record)
    {
        (SettleResult Result, bool RecordStored) settled;
        try
        {
            settled = await ledger.SettleAsync(requestId, cost, record, CancellationToken.None, scope);
        }
        catch (Exception ex) when (record is not null && ex is not OutOfMemoryException && !DatabaseFailure.IsOutage(ex))
        {
            // The charge must not depend on its record: settle alone (idempotent by request id, should the first attempt
            // have committed after all); the caller then writes the record as it does for a call without one. A database
            // that is down (not refusing the record) is not tried again here: the caller journals the charge at once.
            MeteringLog.SettlementWithRecordFailed(logger, ex, requestId);
            settled = (await ledger.SettleAsync(requestId, cost, CancellationToken.None, scope), false);
        }
        if (settled.Result.Status is SettleStatus.Settled) return settled;
        MeteringLog.HoldGoneAtSettlement(logger, requestId, settled.Result.Status, cost);
        return (await ledger.ChargeAsync(accountId, cost, requestId + ":late", CancellationToken.None, scope), false);
    }

    /// <summary>Leaves the call's hold open for an asynchronous job (settled or released later by a poll); nothing is charged now.</summary>
    public static CallSettlement Pend(MeteredCall call, CallUsage usage) =>
        call.Settlement ??= new CallSettlement(usage, Sources.Pending, Credits.Zero, Credits.Zero, call.AvailableAfterHold);

    /// <summary>Releases the call's hold at no cost (failed calls cost nothing); a no-op once settled.</summary>
    public async Task<CallSettlement> ReleaseAsync(MeteredCall call)
    {
        if (call.Settlement is { } done) return done;
        var available = call.AvailableAfterHold;
        if (call.LeasedHold is { } leased)
        {
            // In memory only: the lease keeps the credits for this instance's next calls.
            leases.Release(leased);
            available = call.AvailableAfterHold + call.Estimate.Held;
        }
        else if (call.Held)
        {
            try
            {
                var result = await ledger.ReleaseAsync(call.RequestId, CancellationToken.None);
                available = result.Available;
            }
            catch (Exception ex) when (DatabaseFailure.Is(ex))
            {
                // Nothing is owed; the hold is released by the expiry sweep once the database is back.
                MeteringLog.ReleaseDatabaseUnavailable(logger, ex, call.RequestId);
            }
        }
        return call.Settlement = new CallSettlement(CallUsage.None, Sources.None, Credits.Zero, Credits.Zero, available);
    }
}

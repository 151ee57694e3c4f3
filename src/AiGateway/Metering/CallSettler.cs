using AiGateway.Ledger;
using AiGateway.Pricing;

namespace AiGateway.Metering;

/// <summary>
/// Step "settle": turns what a call used into credits and resolves its hold exactly once — charged from the lots
/// in burn-down order on 2xx, released at no cost otherwise. Unlimited models settle at 0 with their usage recorded.
/// </summary>
public sealed class CallSettler(CreditLedger ledger, ILogger<CallSettler> logger)
{
    /// <summary>Usage sources recorded on call records.</summary>
    public static class Sources
    {
        public const string Provider = "provider";
        public const string Estimated = "estimated";
        public const string Partial = "partial";
        public const string None = "none";
    }

    /// <summary>Charges the call for <paramref name="usage"/>; never cancelled by the client leaving (the upstream already did the work).</summary>
    public async Task<CallSettlement> SettleAsync(MeteredCall call, CallUsage usage, string source)
    {
        if (call.Settlement is { } done) return done;
        var cost = call.Unlimited
            ? Credits.Zero
            : CostCalculator.Cost(call.Estimate.Price, usage, call.Request.ImageSize, call.Request.ImageQuality);
        if (!call.Held)
        {
            return call.Settlement = new CallSettlement(usage, source, Credits.Zero, Credits.Zero, call.AvailableAfterHold);
        }
        var result = await ledger.SettleAsync(call.RequestId, cost, CancellationToken.None);
        if (result.Status != SettleStatus.Settled)
        {
            // The hold was gone (expired past its TTL): charge in one step so the work done is never given away.
            logger.LogWarning("Request {RequestId}: hold was {Status} at settlement; charging {Cost} credits directly", call.RequestId, result.Status, cost);
            result = await ledger.ChargeAsync(call.Caller.AccountId, cost, call.RequestId + ":late", CancellationToken.None);
        }
        return call.Settlement = new CallSettlement(usage, source, result.Charged, result.Overage, result.Available);
    }

    /// <summary>Releases the call's hold at no cost (failed calls cost nothing); a no-op once settled.</summary>
    public async Task<CallSettlement> ReleaseAsync(MeteredCall call)
    {
        if (call.Settlement is { } done) return done;
        var available = call.AvailableAfterHold;
        if (call.Held)
        {
            var result = await ledger.ReleaseAsync(call.RequestId, CancellationToken.None);
            available = result.Available;
        }
        return call.Settlement = new CallSettlement(CallUsage.None, Sources.None, Credits.Zero, Credits.Zero, available);
    }
}

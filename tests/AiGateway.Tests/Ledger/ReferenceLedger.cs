using AiGateway.Ledger;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// A deliberately naive in-memory model of the ledger's rules for one account (lists and loops, no SQL),
/// used as the oracle of the randomized model-based test.
/// </summary>
public sealed class ReferenceLedger(PlansOptions plans, IReadOnlyList<string> kindPriority, TimeSpan holdTtl)
{
    public sealed class Lot
    {
        public required string Key;
        public required string Kind;
        public long Seq, Amount, Remaining, Consumed, Expired, Revoked, Effective;
        public long? Expires;
        public string? Source;
    }

    public sealed class Hold
    {
        public required string Status;
        public long Amount, ExpiresAt, CreatedAt;
        public long Charged, Overage;
        public List<(string Key, long Amount)> Allocations = [];
    }

    public readonly List<Lot> Lots = [];
    public readonly Dictionary<string, Hold> Holds = [];
    public long Held, Overage;
    public string? Plan;
    private long _seq;

    public long Spendable(long now) =>
        Lots.Where(l => l.Remaining > 0 && l.Effective <= now && (l.Expires is null || l.Expires > now)).Sum(l => l.Remaining);

    public long Available(long now) => Math.Max(0, Spendable(now) - Held - Overage);

    public Lot? Grant(string key, string kind, long amount, long effective, long? expires, string? source)
    {
        if (Lots.Any(l => l.Key == key)) return null;
        var repay = Math.Min(Overage, amount);
        Overage -= repay;
        var lot = new Lot
        {
            Key = key, Kind = kind, Seq = _seq++, Amount = amount, Remaining = amount - repay, Consumed = repay,
            Effective = effective, Expires = expires, Source = source,
        };
        Lots.Add(lot);
        return lot;
    }

    public void EnsurePlan(Guid account, DateTimeOffset now, DateTimeOffset? effective = null)
    {
        if (Plan is null || !plans.TryGetValue(Plan, out var plan)) return;
        var month = LedgerPeriods.MonthStart(now);
        var day = LedgerPeriods.DayStart(now);
        if (plan.MonthlyCredits > 0)
            Grant($"plan:{account}:{Plan}:{month:yyyy-MM-dd}", CreditKinds.Plan, (long)(plan.MonthlyCredits * 1_000_000),
                (effective ?? month).UtcTicks, LedgerPeriods.MonthEnd(now).UtcTicks, $"plan:{Plan}");
        if (plan.DailyCredits > 0)
            Grant($"daily:{account}:{Plan}:{day:yyyy-MM-dd}", CreditKinds.Daily, (long)(plan.DailyCredits * 1_000_000),
                (effective ?? day).UtcTicks, LedgerPeriods.DayEnd(now).UtcTicks, $"plan:{Plan}");
    }

    private int Rank(string kind)
    {
        var i = kindPriority.ToList().IndexOf(kind);
        return i < 0 ? int.MaxValue : i;
    }

    /// <summary>Debits lots in burn-down order; returns what each lot paid and the uncovered rest.</summary>
    public (List<(string Key, long Amount)> Allocations, long Overage) Debit(long actual, long now)
    {
        var order = Lots.Where(l => l.Remaining > 0 && l.Effective <= now && (l.Expires is null || l.Expires > now))
            .OrderBy(l => l.Expires ?? long.MaxValue).ThenBy(l => Rank(l.Kind)).ThenBy(l => l.Effective).ThenBy(l => l.Seq);
        var allocations = new List<(string, long)>();
        var need = actual;
        foreach (var lot in order)
        {
            if (need == 0) break;
            var take = Math.Min(need, lot.Remaining);
            lot.Remaining -= take;
            lot.Consumed += take;
            need -= take;
            allocations.Add((lot.Key, take));
        }
        Overage += need;
        return (allocations, need);
    }

    public ReserveStatus Reserve(string request, long amount, long now)
    {
        if (Holds.TryGetValue(request, out var existing))
            return existing.Status == HoldStatuses.Active ? ReserveStatus.AlreadyReserved : ReserveStatus.RequestAlreadyUsed;
        if (Overage > 0 || Available(now) < amount) return ReserveStatus.InsufficientCredits;
        Holds[request] = new Hold { Status = HoldStatuses.Active, Amount = amount, ExpiresAt = now + holdTtl.Ticks, CreatedAt = now };
        Held += amount;
        return ReserveStatus.Reserved;
    }

    public (SettleStatus Status, bool Repeated, Hold? Hold) Settle(string request, long actual, long now)
    {
        if (!Holds.TryGetValue(request, out var hold)) return (SettleStatus.NotFound, false, null);
        if (hold.Status == HoldStatuses.Settled) return (SettleStatus.Settled, true, hold);
        if (hold.Status == HoldStatuses.Released) return (SettleStatus.Released, false, hold);
        if (hold.Status == HoldStatuses.Active) Held -= hold.Amount;
        var (allocations, overage) = Debit(actual, now);
        hold.Status = HoldStatuses.Settled;
        hold.Charged = actual;
        hold.Overage = overage;
        hold.Allocations = allocations;
        return (SettleStatus.Settled, false, hold);
    }

    public (SettleStatus Status, bool Repeated, Hold? Hold) Charge(string request, long amount, long now)
    {
        if (Holds.ContainsKey(request)) return Settle(request, amount, now);
        if (Overage > 0 || Available(now) < amount) return (SettleStatus.InsufficientCredits, false, null);
        var hold = new Hold { Status = HoldStatuses.Settled, Amount = amount, ExpiresAt = now + holdTtl.Ticks };
        Holds[request] = hold;
        var (allocations, overage) = Debit(amount, now);
        hold.Charged = amount;
        hold.Overage = overage;
        hold.Allocations = allocations;
        return (SettleStatus.Settled, false, hold);
    }

    public ReleaseStatus Release(string request)
    {
        if (!Holds.TryGetValue(request, out var hold)) return ReleaseStatus.NotFound;
        switch (hold.Status)
        {
            case HoldStatuses.Released: return ReleaseStatus.AlreadyReleased;
            case HoldStatuses.Settled: return ReleaseStatus.AlreadySettled;
            case HoldStatuses.Expired: return ReleaseStatus.AlreadyExpired;
        }
        hold.Status = HoldStatuses.Released;
        Held -= hold.Amount;
        return ReleaseStatus.Released;
    }

    public long Revoke(Lot lot)
    {
        var amount = lot.Remaining;
        lot.Revoked += amount;
        lot.Remaining = 0;
        return amount;
    }

    public void ExpireHolds(long now)
    {
        foreach (var hold in Holds.Values.Where(h => h.Status == HoldStatuses.Active && h.ExpiresAt <= now))
        {
            hold.Status = HoldStatuses.Expired;
            Held -= hold.Amount;
        }
    }

    /// <summary>Renews the active holds of calls in flight (expiry moves later, never earlier); returns those the sweep already expired.</summary>
    public List<string> Extend(IEnumerable<string> requests, long expiresAt)
    {
        var expired = new List<string>();
        foreach (var request in requests.Distinct())
        {
            if (!Holds.TryGetValue(request, out var hold)) continue;
            if (hold.Status == HoldStatuses.Active && hold.ExpiresAt < expiresAt) hold.ExpiresAt = expiresAt;
            if (hold.Status == HoldStatuses.Expired) expired.Add(request);
        }
        return expired;
    }

    public long ExpireLots(long now)
    {
        long total = 0;
        foreach (var lot in Lots.Where(l => l.Remaining > 0 && l.Expires <= now))
        {
            total += lot.Remaining;
            lot.Expired += lot.Remaining;
            lot.Remaining = 0;
        }
        return total;
    }

    public PlanChangeStatus ChangePlan(Guid account, string? plan, DateTimeOffset now)
    {
        if (string.Equals(plan, Plan, StringComparison.OrdinalIgnoreCase)) return PlanChangeStatus.Unchanged;
        foreach (var lot in Lots.Where(l => l.Source?.StartsWith("plan:") == true && (l.Expires is null || l.Expires > now.UtcTicks)))
            lot.Expires = now.UtcTicks;
        ExpireLots(now.UtcTicks);
        Plan = plan;
        EnsurePlan(account, now, now);
        return PlanChangeStatus.Changed;
    }
}

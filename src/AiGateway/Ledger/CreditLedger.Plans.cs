using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

public sealed partial class CreditLedger
{
    /// <summary>
    /// Moves an account to another plan (null = no plan): the old plan's current credits expire now
    /// ("an upgrade shortens expiry") and the new plan's credits for the current period are issued now.
    /// </summary>
    public async Task<PlanChangeResult> ChangePlanAsync(Guid accountId, string? plan, CancellationToken cancellationToken = default)
    {
        if (plan is not null && !_plans.Exists(plan))
            return new PlanChangeResult(PlanChangeStatus.UnknownPlan, null, plan, Credits.Zero, []);
        plan = _plans.CanonicalName(plan);
        var now = _time.GetUtcNow();
        var nowTicks = now.UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        var totals = await LockAccountAsync(s, accountId, nowTicks);
        if (totals is null) return new PlanChangeResult(PlanChangeStatus.UnknownAccount, null, plan, Credits.Zero, []);
        var oldPlan = totals.Plan;
        if (string.Equals(oldPlan, plan, StringComparison.OrdinalIgnoreCase))
            return new PlanChangeResult(PlanChangeStatus.Unchanged, oldPlan, plan, Credits.Zero, []);

        // Shorten every still-running plan-issued lot to end now, then record their expiry at once.
        await s.ExecuteAsync(
            """
            UPDATE credit_lots SET expires_at = @now
            WHERE account_id = @a AND source_ref LIKE 'plan:%' AND (expires_at IS NULL OR expires_at > @now)
            """,
            ("@now", nowTicks), ("@a", s.Id(accountId)));
        // Leases keep counting as held (calls in flight rely on them); their holders return what they do not use.
        await RecallLeasesAsync(s, accountId, nowTicks, exceptInstance: null);
        var expired = await ExpireDueLotsAsync(s, accountId, totals, nowTicks);
        await s.ExecuteAsync("""UPDATE accounts SET plan = @p WHERE id = @a""", ("@p", plan), ("@a", s.Id(accountId)));
        totals.Plan = plan;
        _issuedPeriods.TryRemove(accountId, out _);
        var welcome = await EnsureWelcomeAsync(s, accountId, totals, now);
        var issue = await EnsurePlanLotsAsync(s, accountId, totals, now, effectiveAt: now);
        await s.CommitAsync();
        RememberIssued(accountId, issue);
        AccountChanged?.Invoke(accountId);
        IReadOnlyList<LotView> lots = welcome is null ? issue.Lots : [welcome, .. issue.Lots];
        return new PlanChangeResult(PlanChangeStatus.Changed, oldPlan, plan, new Credits(expired), lots);
    }

    /// <summary>The lots a plan issuance created and the period marker to remember once it is committed.</summary>
    private sealed record PlanIssue(IReadOnlyList<LotView> Lots, string? Marker);

    /// <summary>Names the plan periods current at <paramref name="now"/>: the plan, the month and (for daily credits) the day.</summary>
    private static string PeriodMarker(string plan, PlanDefinition definition, DateTimeOffset now) =>
        $"{plan.ToLowerInvariant()}|{LedgerPeriods.MonthStart(now).UtcTicks}|{(definition.DailyCredits > 0 ? LedgerPeriods.DayStart(now).UtcTicks : 0)}" +
        string.Concat(definition.Recurring.Select(r => "|" + LedgerPeriods.PeriodStart(r.Period, now).UtcTicks));

    private bool IsIssued(Guid accountId, string marker) => _issuedPeriods.TryGetValue(accountId, out var seen) && seen == marker;

    private void RememberIssued(Guid accountId, PlanIssue issue)
    {
        if (issue.Marker is not null) _issuedPeriods[accountId] = issue.Marker;
    }

    /// <summary>Issues the plan's credits for the current month and day if not issued yet (idempotent, lazy).</summary>
    private async Task<PlanIssue> EnsurePlanLotsAsync(
        LedgerSession s, Guid accountId, AccountTotals totals, DateTimeOffset now, DateTimeOffset? effectiveAt = null)
    {
        var definition = _plans.Find(totals.Plan);
        if (definition is null) return new PlanIssue([], null);
        var monthStart = LedgerPeriods.MonthStart(now);
        var dayStart = LedgerPeriods.DayStart(now);
        var marker = PeriodMarker(totals.Plan!, definition, now);
        if (IsIssued(accountId, marker)) return new PlanIssue([], null);

        var issued = new List<LotView>();
        // Keys use the configured spelling so "Pro" and "pro" can never issue the same period twice.
        var planName = _plans.CanonicalName(totals.Plan)!;
        if (definition.MonthlyCredits > 0)
        {
            var lot = new NewLot(CreditKinds.Plan, Credits.FromDecimal(definition.MonthlyCredits).Micro,
                effectiveAt ?? monthStart, LedgerPeriods.MonthEnd(now), $"Plan {planName} credits for {monthStart:yyyy-MM}",
                $"plan:{planName}", $"plan:{accountId}:{planName}:{monthStart:yyyy-MM-dd}");
            var result = await InsertLotAsync(s, accountId, totals, lot, now.UtcTicks);
            if (result.Status == GrantStatus.Granted) await IssuedAsync(s, accountId, planName, result.Lot!, issued, now);
        }
        if (definition.DailyCredits > 0)
        {
            var lot = new NewLot(CreditKinds.Daily, Credits.FromDecimal(definition.DailyCredits).Micro,
                effectiveAt ?? dayStart, LedgerPeriods.DayEnd(now), $"Plan {planName} daily credits for {dayStart:yyyy-MM-dd}",
                $"plan:{planName}", $"daily:{accountId}:{planName}:{dayStart:yyyy-MM-dd}");
            var result = await InsertLotAsync(s, accountId, totals, lot, now.UtcTicks);
            if (result.Status == GrantStatus.Granted) await IssuedAsync(s, accountId, planName, result.Lot!, issued, now);
        }
        for (var i = 0; i < definition.Recurring.Count; i++)
        {
            var recurring = definition.Recurring[i];
            var start = LedgerPeriods.PeriodStart(recurring.Period, now);
            DateTimeOffset? expiry = !recurring.Accumulate ? LedgerPeriods.PeriodEnd(recurring.Period, now)
                : recurring.ValidDays is { } days ? start.AddDays(days) : null;
            if (expiry <= now) continue; // a grant valid for less than its period has nothing left to give
            // Source "recurring:" (not "plan:"): a plan change does not cut these grants short, like any gift.
            var lot = new NewLot(recurring.Kind, Credits.FromDecimal(recurring.Credits).Micro, effectiveAt ?? start, expiry,
                $"Plan {planName} {(recurring.Period == LedgerPeriods.Day ? "daily" : recurring.Period + "ly")} credits for {start:yyyy-MM-dd}", $"recurring:{planName}",
                $"recurring:{accountId}:{planName}:{i}:{recurring.Period}:{start:yyyy-MM-dd}");
            var result = await InsertLotAsync(s, accountId, totals, lot, now.UtcTicks);
            if (result.Status == GrantStatus.Granted) await IssuedAsync(s, accountId, planName, result.Lot!, issued, now);
        }
        return new PlanIssue(issued, marker);
    }

    /// <summary>Notes a plan lot issued now (and its notification, in the same transaction).</summary>
    private async Task IssuedAsync(LedgerSession s, Guid accountId, string plan, LotView lot, List<LotView> issued, DateTimeOffset now)
    {
        issued.Add(lot);
        if (_notify is not null) await _notify.OnPlanIssuedAsync(s, accountId, plan, lot, now.UtcTicks);
    }

    /// <summary>
    /// Issues the plan's welcome grant once per account, whatever plan it is on later (idempotency key
    /// <c>welcome:{account}</c>); null when the plan has none or the account already had one.
    /// </summary>
    private async Task<LotView?> EnsureWelcomeAsync(LedgerSession s, Guid accountId, AccountTotals totals, DateTimeOffset now)
    {
        if (_plans.Find(totals.Plan)?.Welcome is not { } welcome) return null;
        var planName = _plans.CanonicalName(totals.Plan)!;
        var expiry = welcome.ValidDays is { } days ? now.AddDays(days) : ResolveExpiry(welcome.Kind, Credits.FromDecimal(welcome.Credits), null, null, "welcome", now);
        var lot = new NewLot(welcome.Kind, Credits.FromDecimal(welcome.Credits).Micro, now, expiry,
            $"Welcome credits ({planName})", $"welcome:{planName}", $"welcome:{accountId}");
        var result = await InsertLotAsync(s, accountId, totals, lot, now.UtcTicks);
        return result.Status == GrantStatus.Granted ? result.Lot : null;
    }

    /// <summary>Issues the welcome grant and current plan credits of a newly created account (idempotent).</summary>
    public async Task<IReadOnlyList<LotView>> OnboardAsync(Guid accountId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        await using var s = await BeginAsync(cancellationToken);
        var totals = await LockAccountAsync(s, accountId, now.UtcTicks);
        if (totals?.Plan is null) return [];
        var lots = new List<LotView>();
        if (await EnsureWelcomeAsync(s, accountId, totals, now) is { } welcome) lots.Add(welcome);
        var issue = await EnsurePlanLotsAsync(s, accountId, totals, now);
        await s.CommitAsync();
        RememberIssued(accountId, issue);
        lots.AddRange(issue.Lots);
        return lots;
    }

    /// <summary>Records the expiry of every lot of the account that expired with credits left; returns the micro-credits expired.</summary>
    private async Task<long> ExpireDueLotsAsync(LedgerSession s, Guid accountId, AccountTotals totals, long nowTicks)
    {
        var due = new List<(long Id, long Remaining)>();
        await using (var reader = await s.ReaderAsync(
            "SELECT id, remaining FROM credit_lots WHERE account_id = @a AND remaining > 0 AND expires_at <= @now ORDER BY id",
            ("@a", s.Id(accountId)), ("@now", nowTicks)))
        {
            while (await reader.ReadAsync()) due.Add((reader.GetInt64(0), reader.GetInt64(1)));
        }
        if (due.Count == 0) return 0;
        // Expired lots never count towards available, so the balance after is the same for every entry.
        var available = await AvailableAsync(s, accountId, totals, nowTicks);
        long total = 0;
        foreach (var (id, remaining) in due)
        {
            await s.ExecuteAsync("UPDATE credit_lots SET remaining = 0, expired = expired + @r WHERE id = @id",
                ("@r", remaining), ("@id", id));
            await AddEntryAsync(s, accountId, nowTicks, LedgerEntryTypes.Expire, remaining, available, lotId: id);
            total += remaining;
        }
        return total;
    }
}

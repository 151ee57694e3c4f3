using AiGateway.Storage;
namespace AiGateway.Ledger;

public sealed partial class CreditLedger
{
    private const int SweepBatch = 500;

    /// <summary>
    /// The sweep's look-up of expired active holds, oldest expiry first, over the partial index of active holds (checked by
    /// the query-plan tests). In id order both databases walked every hold ever made, in primary-key order, to find none due.
    /// </summary>
    internal static readonly string DueHoldsSql = $"""
        SELECT h.account_id, h.request_id, r.record FROM credit_holds h LEFT JOIN credit_hold_records r ON r.hold_id = h.id
        WHERE h.status = 'active' AND h.expires_at <= @now ORDER BY h.expires_at LIMIT {SweepBatch}
        """;

    /// <summary>
    /// Runs every periodic job once: expire holds past their TTL, resolve the admission markers of dead instances, record
    /// lot expiries, issue plan credits, delete expired leases.
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken = default)
    {
        await ExpireHoldsAsync(cancellationToken);
        await ResolveAdmissionsAsync(instanceId: null, cancellationToken);
        await ExpireLotsAsync(cancellationToken);
        await IssuePlanCreditsAsync(cancellationToken);
        await SweepExpiredLeasesAsync(cancellationToken);
    }

    /// <summary>
    /// Releases active holds whose TTL has passed (status <c>expired</c>); returns how many. A live gateway renews the
    /// holds of its calls in flight, so an expiring hold is one whose call was interrupted (the process died or lost the
    /// database): the record the hold carries is stored with it (status <c>interrupted</c>, nothing charged), unless
    /// the call has a record already.
    /// </summary>
    public async Task<int> ExpireHoldsAsync(CancellationToken cancellationToken = default)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        var due = new List<(Guid AccountId, string RequestId, string? Record)>();
        await using (var s = await BeginAsync(cancellationToken))
        await using (var reader = await s.ReaderAsync(DueHoldsSql, ("@now", nowTicks)))
        {
            while (await reader.ReadAsync()) due.Add((LedgerSession.ReadGuid(reader, 0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }
        var count = 0;
        // One short transaction per hold, so the sweep never holds an account lock for long.
        foreach (var (accountId, requestId, record) in due)
        {
            await using var s = await BeginAsync(cancellationToken);
            var totals = (await LockAccountAsync(s, accountId, nowTicks))!;
            var hold = await FindHoldAsync(s, requestId);
            if (hold is null || hold.Status != HoldStatuses.Active) continue; // resolved meanwhile
            await ResolveHoldAsync(s, hold, totals, HoldStatuses.Expired, LedgerEntryTypes.Expire, "hold expired unsettled", nowTicks, last: record is null);
            // Same transaction as the expiry: a hold leaves 'active' once, so its interrupted record is written at most once.
            if (record is not null) await InsertInterruptedRecordAsync(s, record);
            await s.CommitAsync();
            count++;
        }
        return count;
    }

    /// <summary>Records the expiry of lots that expired with credits left (they stopped counting at expiry already); returns micro-credits expired.</summary>
    public async Task<long> ExpireLotsAsync(CancellationToken cancellationToken = default)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        var accounts = await DistinctAccountsAsync(
            $"SELECT DISTINCT account_id FROM credit_lots WHERE remaining > 0 AND expires_at <= @now LIMIT {SweepBatch}",
            nowTicks, cancellationToken);
        long total = 0;
        foreach (var accountId in accounts)
        {
            await using var s = await BeginAsync(cancellationToken);
            var totals = (await LockAccountAsync(s, accountId, nowTicks))!;
            total += await ExpireDueLotsAsync(s, accountId, totals, nowTicks);
            await s.CommitAsync();
        }
        return total;
    }

    /// <summary>Issues the current period's plan and daily credits to every account with a plan (idempotent); returns lots issued.</summary>
    public async Task<int> IssuePlanCreditsAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var candidates = new List<Guid>();
        await using (var s = await BeginAsync(cancellationToken))
        await using (var reader = await s.ReaderAsync("""SELECT id, plan FROM accounts WHERE plan IS NOT NULL"""))
        {
            while (await reader.ReadAsync())
            {
                var accountId = LedgerSession.ReadGuid(reader, 0);
                var plan = reader.GetString(1);
                // Accounts this instance already issued the current periods to are skipped without a transaction.
                if (_plans.Find(plan) is { } definition && !IsIssued(accountId, PeriodMarker(plan, definition, now))) candidates.Add(accountId);
            }
        }
        var issued = 0;
        foreach (var accountId in candidates)
        {
            await using var s = await BeginAsync(cancellationToken);
            var totals = await LockAccountAsync(s, accountId, now.UtcTicks);
            if (totals is null) continue;
            var issue = await EnsurePlanLotsAsync(s, accountId, totals, now);
            await s.CommitAsync();
            RememberIssued(accountId, issue);
            issued += issue.Lots.Count;
        }
        return issued;
    }

    private async Task<List<Guid>> DistinctAccountsAsync(string sql, long nowTicks, CancellationToken cancellationToken)
    {
        var accounts = new List<Guid>();
        await using var s = await BeginAsync(cancellationToken);
        await using var reader = await s.ReaderAsync(sql, ("@now", nowTicks));
        while (await reader.ReadAsync()) accounts.Add(LedgerSession.ReadGuid(reader, 0));
        return accounts;
    }
}

using AiGateway.Pricing;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Ledger;

public sealed partial class CreditLedger
{
    /// <summary>The largest page of the credits log.</summary>
    public const int MaxLogPageSize = 200;

    /// <summary>
    /// The account's balance (issuing the current period's plan credits first). Lists only unexpired lots with
    /// credits left unless <paramref name="includeSpent"/>. Null for an unknown account.
    /// </summary>
    public async Task<BalanceView?> GetBalanceAsync(Guid accountId, bool includeSpent = false, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var nowTicks = now.UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        var totals = await LockAccountAsync(s, accountId, nowTicks);
        if (totals is null) return null;
        var issue = await EnsurePlanLotsAsync(s, accountId, totals, now);
        var lots = new List<LotView>();
        long spendable = 0;
        var filter = includeSpent ? "" : " AND remaining > 0 AND (expires_at IS NULL OR expires_at > @now)";
        await using (var reader = await s.ReaderAsync(
            $"SELECT {LotColumns} FROM credit_lots WHERE account_id = @a{filter}", ("@a", s.Id(accountId)), ("@now", nowTicks)))
        {
            while (await reader.ReadAsync())
            {
                var lot = ReadLot(reader);
                lots.Add(lot);
                if (lot.Remaining.Micro > 0 && lot.EffectiveAt.UtcTicks <= nowTicks && (lot.ExpiresAt is null || lot.ExpiresAt.Value.UtcTicks > nowTicks))
                    spendable += lot.Remaining.Micro;
            }
        }
        // This instance's own lease is shown as what its calls hold in memory (the rest of it is available to them);
        // other instances' leases show as held (bounded by their lease sizes).
        var reserved = LocalLeases?.Invoke(accountId) ?? 0;
        var own = LeaseInstanceId is { } instance && totals.Leased > 0
            ? await s.ScalarAsync(OwnLeaseSql, ("@a", s.Id(accountId)), ("@i", instance), ("@now", nowTicks)) ?? 0
            : 0;
        var blocked = totals.Held + totals.Leased - own + reserved;
        await s.CommitAsync();
        RememberIssued(accountId, issue);
        // Listed in the order they will be spent.
        lots.Sort((a, b) => _burnDownOrder.Compare(ToSpendable(a), ToSpendable(b)));
        return new BalanceView(new Credits(Available(spendable, blocked, totals.Overage)),
            new Credits(blocked), new Credits(totals.Overage), lots, totals.Plan);
    }

    private static SpendableLot ToSpendable(LotView lot) =>
        new(lot.Id, lot.Kind, lot.Remaining.Micro, lot.EffectiveAt.UtcTicks, lot.ExpiresAt?.UtcTicks);

    /// <summary>The credits log: every acquisition (lot) of the account, newest first, after <paramref name="cursor"/> (a lot id).</summary>
    public async Task<CreditsLogPage> GetCreditsLogAsync(Guid accountId, long? cursor, int limit, CancellationToken cancellationToken = default)
    {
        limit = Math.Clamp(limit, 1, MaxLogPageSize);
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.CreditLots.AsNoTracking().Where(l => l.AccountId == accountId);
        if (cursor is { } before) query = query.Where(l => l.Id < before);
        var rows = await query.OrderByDescending(l => l.Id).Take(limit + 1).ToListAsync(cancellationToken);
        var items = rows.Take(limit)
            .Select(l => new LotView(l.Id, l.Kind, new Credits(l.Amount), new Credits(l.Remaining), l.EffectiveAt, l.ExpiresAt,
                l.Reason, l.SourceRef, l.IdempotencyKey, LotScope.Split(l.ModelScope), LotScope.Split(l.ModalityScope)))
            .ToList();
        return new CreditsLogPage(items, rows.Count > limit ? items[^1].Id : null);
    }
}

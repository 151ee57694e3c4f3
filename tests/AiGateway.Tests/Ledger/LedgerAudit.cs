using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>Everything the ledger stores about one account, read straight from the tables (bypassing the ledger's own SQL).</summary>
public sealed record LedgerSnapshot(
    List<CreditLot> Lots, List<CreditHold> Holds, List<CreditCharge> Charges, List<ChargeAllocation> Allocations,
    List<LedgerEntry> Entries, LedgerAccountState? State, HashSet<long> HoldsWithRecord)
{
    /// <summary>Reads the account's rows.</summary>
    public static async Task<LedgerSnapshot> ReadAsync(LedgerDatabaseFixture db, Guid accountId)
    {
        await using var context = new LedgerDbContext(db.Options);
        var charges = await context.CreditCharges.AsNoTracking().Where(c => c.AccountId == accountId).ToListAsync();
        var chargeIds = charges.Select(c => c.Id).ToList();
        var holds = await context.CreditHolds.AsNoTracking().Where(h => h.AccountId == accountId).ToListAsync();
        var holdIds = holds.Select(h => h.Id).ToList();
        return new LedgerSnapshot(
            await context.CreditLots.AsNoTracking().Where(l => l.AccountId == accountId).OrderBy(l => l.Id).ToListAsync(),
            holds,
            charges,
            await context.ChargeAllocations.AsNoTracking().Where(a => chargeIds.Contains(a.ChargeId)).ToListAsync(),
            await context.LedgerEntries.AsNoTracking().Where(e => e.AccountId == accountId).OrderBy(e => e.Id).ToListAsync(),
            await context.LedgerAccountStates.AsNoTracking().SingleOrDefaultAsync(s => s.AccountId == accountId),
            [.. await context.CreditHoldRecords.AsNoTracking().Where(r => holdIds.Contains(r.HoldId)).Select(r => r.HoldId).ToListAsync()]);
    }

    /// <summary>Available micro-credits at <paramref name="now"/> computed from the rows: unexpired remaining − held − overage, floored at 0.</summary>
    public long AvailableAt(DateTimeOffset now)
    {
        var spendable = Lots.Where(l => l.Remaining > 0 && l.EffectiveAt <= now && (l.ExpiresAt is null || l.ExpiresAt > now)).Sum(l => l.Remaining);
        return Math.Max(0, spendable - (State?.Held ?? 0) - (State?.Overage ?? 0));
    }

    /// <summary>Every conservation invariant that is violated (empty when the books balance).</summary>
    public List<string> Violations()
    {
        var problems = new List<string>();
        var repaidByLot = Entries.Where(e => e.Type == LedgerEntryTypes.Adjust && e.LotId is not null)
            .GroupBy(e => e.LotId!.Value).ToDictionary(g => g.Key, g => g.Sum(e => e.Amount));
        var allocatedByLot = Allocations.Where(a => a.LotId is not null)
            .GroupBy(a => a.LotId!.Value).ToDictionary(g => g.Key, g => g.Sum(a => a.Amount));
        foreach (var lot in Lots)
        {
            if (lot.Amount != lot.Remaining + lot.Consumed + lot.Expired + lot.Revoked)
                problems.Add($"lot {lot.Id}: amount {lot.Amount} != remaining {lot.Remaining} + consumed {lot.Consumed} + expired {lot.Expired} + revoked {lot.Revoked}");
            if (lot.Remaining < 0 || lot.Consumed < 0 || lot.Expired < 0 || lot.Revoked < 0)
                problems.Add($"lot {lot.Id}: negative part");
            var consumed = allocatedByLot.GetValueOrDefault(lot.Id) + repaidByLot.GetValueOrDefault(lot.Id);
            if (lot.Consumed != consumed)
                problems.Add($"lot {lot.Id}: consumed {lot.Consumed} != allocations + repayments {consumed}");
        }
        foreach (var charge in Charges)
        {
            var parts = Allocations.Where(a => a.ChargeId == charge.Id).ToList();
            if (parts.Sum(a => a.Amount) != charge.Amount)
                problems.Add($"charge {charge.Id}: allocations {parts.Sum(a => a.Amount)} != amount {charge.Amount}");
            if (parts.Where(a => a.LotId is null).Sum(a => a.Amount) != charge.Overage)
                problems.Add($"charge {charge.Id}: overage allocation != overage {charge.Overage}");
        }
        var held = Holds.Where(h => h.Status == HoldStatuses.Active).Sum(h => h.Amount);
        if ((State?.Held ?? 0) != held) problems.Add($"state held {State?.Held} != active holds {held}");
        var debt = Charges.Sum(c => c.Overage) - repaidByLot.Values.Sum();
        if ((State?.Overage ?? 0) != debt) problems.Add($"state overage {State?.Overage} != overage charged − repaid {debt}");
        if (State is { } s && (s.Held < 0 || s.Overage < 0)) problems.Add("negative held or overage");
        var settled = Holds.Count(h => h.Status == HoldStatuses.Settled);
        if (settled != Charges.Count) problems.Add($"settled holds {settled} != charges {Charges.Count}");
        // In total: everything granted is still there, was spent, expired or was revoked.
        var granted = Lots.Sum(l => l.Amount);
        var accounted = Lots.Sum(l => l.Remaining) + Lots.Sum(l => l.Consumed) + Lots.Sum(l => l.Expired) + Lots.Sum(l => l.Revoked);
        if (granted != accounted) problems.Add($"total granted {granted} != accounted {accounted}");
        var spentFromLots = Charges.Sum(c => c.Amount - c.Overage) + repaidByLot.Values.Sum();
        if (Lots.Sum(l => l.Consumed) != spentFromLots) problems.Add($"total consumed {Lots.Sum(l => l.Consumed)} != charged from lots + repaid {spentFromLots}");
        return problems;
    }

    /// <summary>Fails the test with every violation listed.</summary>
    public void AssertBalanced() => Assert.True(Violations().Count == 0, string.Join(Environment.NewLine, Violations()));
}

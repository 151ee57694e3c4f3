using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// PostgreSQL settlement batches take their accounts' row locks with their writes, not with their reads (the late lock,
/// <c>CreditLedger.LeaseBatches.cs</c>): nothing waits on the account while the instance computes the charges between its
/// two round trips. What the charges were computed from is checked under the lock; when it changed (a lot spent by another
/// instance, a grant) the batch is read again under its locks, so the answers stay those of the locked path. Each test
/// lets another transaction commit between the batch's reads and its writes (<c>AfterBatchReadsForTests</c>); with the
/// lock taken by the reads that transaction waits for the batch, which waits for it: the tests fail by their timeout.
/// </summary>
public sealed class LateLockTests(PostgresLedgerFixture postgres) : IClassFixture<PostgresLedgerFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Another instance spends most of the lot the batch read: debiting what the reads allotted would overdraw the lot.
    /// The batch is read again under its lock and charges the rest as debt, as the locked path does.
    /// </summary>
    [Fact]
    public async Task ALotSpentBetweenReadsAndWrites_IsNotOverdrawn_TheBatchReadsAgain()
    {
        // The other instance's batch (its own reads and writes run inside the pause, which acts only once).
        var (ledger, tag, account) = await ArrangeAsync("late-lot", 10,
            (ledger, tag, account) => ledger.SettleLeasedBatchAsync([Settlement(account, $"{tag}-their-call", 6, $"{tag}-theirs")], []));
        var retriesBefore = ledger.LateLockRetries;

        var result = (await ledger.SettleLeasedBatchAsync([Settlement(account, $"{tag}-our-call", 8, $"{tag}-ours")], []).WaitAsync(Bound)).Settled[0];

        Assert.Equal(SettleStatus.Settled, result.Status);
        Assert.Equal((8m, 4m), (result.Charged.ToDecimal(), result.Overage.ToDecimal()));
        Assert.Equal(1, ledger.LateLockRetries - retriesBefore);
        await using var db = new LedgerDbContext(postgres.Options);
        var lot = await db.CreditLots.AsNoTracking().SingleAsync(l => l.AccountId == account);
        Assert.Equal(0L, lot.Remaining);
        Assert.Equal(lot.Consumed, await db.CreditCharges.Where(c => c.AccountId == account).SumAsync(c => c.Amount - c.Overage));
        Assert.Equal(Credits.FromDecimal(14).Micro, await db.CreditCharges.Where(c => c.AccountId == account).SumAsync(c => c.Amount));
    }

    /// <summary>
    /// A grant commits between the batch's reads and its writes — at once, since the reads hold no lock. Its lot expires
    /// first, so burn-down order spends it first: the batch is read again and charges it, not the lot it read.
    /// </summary>
    [Fact]
    public async Task AGrantBetweenReadsAndWrites_DoesNotWait_AndItsLotIsSpentFirst()
    {
        var (ledger, tag, account) = await ArrangeAsync("late-grant", 100,
            (ledger, tag, account) => ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(5), Start.AddDays(2), null, $"{tag}-bonus", null));
        var retriesBefore = ledger.LateLockRetries;

        var result = (await ledger.SettleLeasedBatchAsync([Settlement(account, $"{tag}-call", 3, $"{tag}-i")], []).WaitAsync(Bound)).Settled[0];

        Assert.Equal(SettleStatus.Settled, result.Status);
        Assert.Equal(1, ledger.LateLockRetries - retriesBefore);
        await using var db = new LedgerDbContext(postgres.Options);
        var bonus = await db.CreditLots.AsNoTracking().SingleAsync(l => l.AccountId == account && l.Kind == CreditKinds.Bonus);
        var allocation = Assert.Single(result.Allocations);
        Assert.Equal((bonus.Id, 3m), (allocation.LotId, allocation.Amount.ToDecimal()));
        Assert.Equal(Credits.FromDecimal(2).Micro, bonus.Remaining);
    }

    /// <summary>
    /// An exact hold commits between the batch's reads and its writes. Nothing the charges were computed from changed, so
    /// the batch writes at once (no second read) — and what it shows available after the call, in its result and in its
    /// activity entry, counts that hold: it is read under the lock, not taken from the reads (which would show 7 more).
    /// </summary>
    [Fact]
    public async Task AHoldBetweenReadsAndWrites_TheAvailableAfterIsReadUnderTheLock()
    {
        var (ledger, tag, account) = await ArrangeAsync("late-after", 100, async (ledger, tag, account) =>
        {
            var hold = await ledger.ReserveAsync(account, Credits.FromDecimal(7), $"{tag}-exact");
            Assert.Equal(ReserveStatus.Reserved, hold.Status);
        });
        var retriesBefore = ledger.LateLockRetries;

        var result = (await ledger.SettleLeasedBatchAsync([Settlement(account, $"{tag}-call", 2, $"{tag}-i")], []).WaitAsync(Bound)).Settled[0];

        Assert.Equal(SettleStatus.Settled, result.Status);
        Assert.Equal(0, ledger.LateLockRetries - retriesBefore);
        // 100 granted − 2 charged − 7 held.
        Assert.Equal(91m, result.Available.ToDecimal());
        await using var db = new LedgerDbContext(postgres.Options);
        var entry = await db.LedgerEntries.AsNoTracking().SingleAsync(e => e.RequestId == $"{tag}-call");
        Assert.Equal(Credits.FromDecimal(91).Micro, entry.AvailableAfter);
    }

    /// <summary>
    /// A leasing ledger and an account with <paramref name="credits"/> in one lot; <paramref name="between"/> runs once
    /// between the next batch's reads and its writes (bounded: it fails the test rather than wait for the batch forever).
    /// </summary>
    private async Task<(CreditLedger Ledger, string Tag, Guid Account)> ArrangeAsync(
        string prefix, decimal credits, Func<CreditLedger, string, Guid, Task> between)
    {
        var ledger = postgres.CreateLedger(new ManualTimeProvider(Start), o => o.Leases = true);
        var tag = $"{prefix}-{Guid.NewGuid():N}";
        var account = await CreateAccountAsync(tag);
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromDecimal(credits), null, null, $"{tag}-base", null);
        var hooked = 0;
        ledger.AfterBatchReadsForTests = async () =>
        {
            if (Interlocked.Increment(ref hooked) == 1) await between(ledger, tag, account).WaitAsync(Bound);
        };
        return (ledger, tag, account);
    }

    private static CreditLedger.LeasedSettlement Settlement(Guid account, string requestId, decimal credits, string instance)
    {
        var micro = Credits.FromDecimal(credits).Micro;
        return new CreditLedger.LeasedSettlement(account, requestId, micro, micro, null, instance, micro);
    }

    private async Task<Guid> CreateAccountAsync(string name)
    {
        await using var context = new LedgerDbContext(postgres.Options);
        var account = new Account { Id = Guid.NewGuid(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        context.Accounts.Add(account);
        await context.SaveChangesAsync();
        return account.Id;
    }
}

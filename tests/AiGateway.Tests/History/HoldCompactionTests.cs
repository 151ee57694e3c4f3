using AiGateway.History;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using AiGateway.Tests.Api;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.History;

/// <summary>
/// The compaction of resolved holds deletes only what explains no balance: old hold/release movements of settled or
/// released holds and those holds, never a charge, an allocation, a settle, grant or lot-expiry movement, a task's
/// spent credits, an Idempotency-Key's fingerprint, an active or expired hold. Everything is driven through the ledger's
/// own write path; what must be deleted and what must stay is listed here from the operations made.
/// </summary>
public abstract class HoldCompactionTests<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private static readonly DateTimeOffset Start = new(2026, 9, 1, 10, 0, 0, TimeSpan.Zero);

    private HoldCompaction Compaction(CreditLedger ledger, TimeProvider time) =>
        new(fixture.Factory, ledger.Writer, Options.Create(new HistoryOptions { RetentionDeleteBatch = 3 }), time);

    [Fact]
    public async Task Run_OldResolvedHolds_DeletedWithTheirMovementsAndBalancesTaskSpendAndIdempotencyStay()
    {
        var time = new ManualTimeProvider(Start);
        await using var ledger = fixture.CreateLedger(time);
        var account = await HistorySeed.AccountAsync(fixture.Options);
        await ledger.GrantAsync(account, "bonus", Credits.FromCredits(500), null, 3650, "seed", null);
        var prefix = $"c-{account:N}";

        // Old (9 days before the run): settled, released, with a task, a one-step action with a fingerprint, an
        // expired hold, an expired hold settled late, and a hold still active (a long video job).
        for (var i = 0; i < 8; i++)
        {
            await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-settled-{i}");
            await ledger.SettleAsync($"{prefix}-settled-{i}", Credits.FromDecimal(1.25m));
        }
        for (var i = 0; i < 4; i++)
        {
            await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-released-{i}");
            await ledger.ReleaseAsync($"{prefix}-released-{i}");
        }
        for (var i = 0; i < 3; i++)
        {
            await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-task-{i}", default, "agent", Credits.FromCredits(20));
            await ledger.SettleAsync($"{prefix}-task-{i}", Credits.FromCredits(2));
        }
        var action = await ledger.ChargeAsync(account, Credits.FromCredits(1), $"{prefix}-action", fingerprint: "fp-draft");
        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-expired");
        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-late");
        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-active");
        await ledger.ExtendHoldAsync($"{prefix}-active", Start.AddDays(30));
        time.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(2, await ledger.ExpireHoldsAsync());
        await ledger.SettleAsync($"{prefix}-late", Credits.FromCredits(1));
        // A lot that expires with credits left: its expiry movement has no hold and must stay.
        await ledger.GrantAsync(account, "referral", Credits.FromCredits(3), Start.AddDays(1), null, "short", null);
        time.Set(Start.AddDays(1.5));
        Assert.True(await ledger.ExpireLotsAsync() > 0);

        // Recent (1 day before the run): kept whatever they are.
        time.Set(Start.AddDays(8));
        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"{prefix}-recent");
        await ledger.SettleAsync($"{prefix}-recent", Credits.FromCredits(1));
        time.Set(Start.AddDays(9));

        var before = await LedgerSnapshot.ReadAsync(fixture, account);
        var balanceBefore = await ledger.GetBalanceAsync(account);
        var taskBefore = await ledger.GetTaskBudgetAsync(account, "agent");
        var result = await Compaction(ledger, time).RunAsync(default);
        var after = await LedgerSnapshot.ReadAsync(fixture, account);

        // Holds deleted: settled-*, released-* and late (no task, no fingerprint, resolved before the cutoff).
        string[] gone = [.. Enumerable.Range(0, 8).Select(i => $"{prefix}-settled-{i}"), .. Enumerable.Range(0, 4).Select(i => $"{prefix}-released-{i}"), $"{prefix}-late"];
        var goneHolds = before.Holds.Where(h => gone.Contains(h.RequestId)).Select(h => h.Id).ToHashSet();
        Assert.Equal(before.Holds.Where(h => !goneHolds.Contains(h.Id)).Select(h => h.RequestId).Order(), after.Holds.Select(h => h.RequestId).Order());
        // Movements: those of every hold that settled or was released before the cutoff (the task's too: its spend is read
        // from its hold and charge, not from movements).
        var cutoff = Start.AddDays(2);
        var resolved = before.Holds.Where(h => h.Status is HoldStatuses.Settled or HoldStatuses.Released).Select(h => h.Id).ToHashSet();
        var transient = new[] { LedgerEntryTypes.Hold, LedgerEntryTypes.Release, LedgerEntryTypes.Expire };
        var expectedEntries = before.Entries.Where(e => !(e.HoldId is { } h && resolved.Contains(h) && transient.Contains(e.Type) && e.At < cutoff))
            .Select(e => e.Id).ToList();
        Assert.Equal(expectedEntries, after.Entries.Select(e => e.Id).ToList());
        Assert.Equal(before.Entries.Count - expectedEntries.Count, result.Movements);
        Assert.Equal(goneHolds.Count, result.Holds);
        Assert.Contains(after.Entries, e => e.Type == LedgerEntryTypes.Expire && e.HoldId is null);           // the lot's expiry
        Assert.Contains(after.Entries, e => e.Type == LedgerEntryTypes.Expire && e.HoldId is not null);       // the expired hold's
        Assert.Contains(after.Entries, e => e.Type == LedgerEntryTypes.Hold && e.RequestId == $"{prefix}-active");

        // What explains the balance is untouched, and the books still balance.
        Assert.Equal(before.Lots.Select(l => (l.Id, l.Remaining, l.Consumed, l.Expired)), after.Lots.Select(l => (l.Id, l.Remaining, l.Consumed, l.Expired)));
        Assert.Equal(before.Charges.Select(c => (c.Id, c.Amount)).Order(), after.Charges.Select(c => (c.Id, c.Amount)).Order());
        Assert.Equal(before.Allocations.Select(a => (a.Id, a.Amount)).Order(), after.Allocations.Select(a => (a.Id, a.Amount)).Order());
        // Every invariant but "settled holds = charges" (deleted settled holds keep their charges).
        var violations = after.Violations().Where(v => !v.StartsWith("settled holds", StringComparison.Ordinal)).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.All(after.Charges, c => Assert.True(c.HoldId is { } h && (goneHolds.Contains(h) || after.Holds.Any(x => x.Id == h && x.Status == HoldStatuses.Settled))));
        var balanceAfter = await ledger.GetBalanceAsync(account);
        Assert.Equal((balanceBefore!.Available, balanceBefore.Held, balanceBefore.Overage), (balanceAfter!.Available, balanceAfter.Held, balanceAfter.Overage));
        Assert.Equal(taskBefore, await ledger.GetTaskBudgetAsync(account, "agent"));

        // Idempotency: the action repeats (not charged again); a deleted call's settle repeated charges nothing.
        var repeat = await ledger.ChargeAsync(account, Credits.FromCredits(1), $"{prefix}-action", fingerprint: "fp-draft");
        Assert.True(repeat.Repeated, $"action repeat: {repeat.Status}");
        Assert.Equal(action.ChargeId, repeat.ChargeId);
        await ledger.SettleAsync($"{prefix}-settled-0", Credits.FromCredits(5));
        Assert.Equal(balanceBefore.Available, (await ledger.GetBalanceAsync(account))!.Available);

        // A second run finds nothing more.
        Assert.Equal(new HoldCompaction.Result(0, 0), await Compaction(ledger, time).RunAsync(default));
    }
}

/// <summary>Hold compaction on SQLite.</summary>
public sealed class SqliteHoldCompactionTests(SqliteLedgerFixture fixture) : HoldCompactionTests<SqliteLedgerFixture>(fixture);

/// <summary>Hold compaction on PostgreSQL.</summary>
public sealed class PostgresHoldCompactionTests(PostgresLedgerFixture fixture) : HoldCompactionTests<PostgresLedgerFixture>(fixture);

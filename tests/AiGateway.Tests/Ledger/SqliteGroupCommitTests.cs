using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// SQLite group commit inside one gateway process: many parallel operations on one <see cref="CreditLedger"/> share
/// transactions (each in its own savepoint). Each caller must still see exactly its own result, an operation that
/// returns early or fails must undo only itself, and the books must balance.
/// </summary>
public sealed class SqliteGroupCommitTests(SqliteLedgerFixture db) : IClassFixture<SqliteLedgerFixture>
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));

    [Fact]
    public async Task ParallelReservesSettlesAndRefusals_OneLedger_EachGetsItsOwnResultAndBooksBalance()
    {
        var ledger = db.CreateLedger(_clock);
        var account = await db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(50), null, null, "pack", null);

        // 200 reserves of 1 credit against 50 credits, interleaved with operations that end without writing
        // (unknown accounts: their savepoints are rolled back inside the same groups).
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            if (i % 4 == 0)
            {
                var refused = await ledger.ChargeAsync(Guid.NewGuid(), Credits.FromCredits(1), $"gc-unknown-{account}-{i}");
                Assert.Equal(SettleStatus.UnknownAccount, refused.Status);
            }
            return await ledger.ReserveAsync(account, Credits.FromCredits(1), $"gc-{account}-{i}");
        })).ToList();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(50, results.Count(r => r.Status == ReserveStatus.Reserved));
        Assert.Equal(150, results.Count(r => r.Status == ReserveStatus.InsufficientCredits));
        // Every successful reserve saw a distinct balance after its own hold: 49, 48, ..., 0.
        Assert.Equal(Enumerable.Range(0, 50).Select(n => (long)n * 1_000_000).ToHashSet(),
            results.Where(r => r.Status == ReserveStatus.Reserved).Select(r => r.Available.Micro).ToHashSet());

        // Settle half, release the rest, in parallel; settles charge 0.5 each.
        var reserved = Enumerable.Range(0, 200).Where(i => results[i].Status == ReserveStatus.Reserved).ToList();
        await Task.WhenAll(reserved.Select((i, n) => Task.Run(async () =>
        {
            if (n % 2 == 0) Assert.Equal(SettleStatus.Settled, (await ledger.SettleAsync($"gc-{account}-{i}", Credits.FromDecimal(0.5m))).Status);
            else Assert.Equal(ReleaseStatus.Released, (await ledger.ReleaseAsync($"gc-{account}-{i}")).Status);
        })));

        var balance = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(Credits.Zero, balance.Held);
        Assert.Equal(Credits.FromCredits(50) - Credits.FromDecimal(0.5m * 25), balance.Available);
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();

        // A fresh ledger (another connection) sees exactly what the callers were told: everything was committed.
        var reread = (await db.CreateLedger(_clock).GetBalanceAsync(account))!;
        Assert.Equal(balance.Available, reread.Available);

        var (operations, commits) = ledger.GroupCommitStats;
        // Committed operations: the grant, 200 reserves, 50 settles/releases, the balance read (the 50 refusals rolled back).
        Assert.Equal(1 + 200 + 50 + 1, operations);
        Assert.True(commits >= 1 && commits <= operations, $"{commits} commits for {operations} operations");
    }

    [Fact]
    public async Task OperationFailingInsideAGroup_RollsBackOnlyItself()
    {
        var ledger = db.CreateLedger(_clock);
        var account = await db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(100), null, null, "pack", null);
        // A database error in the middle of a reserve for some request ids: at its activity entry, after it has already
        // inserted the hold and raised the account's held total in the same operation.
        await using (var setup = new LedgerDbContext(db.Options))
        {
            await setup.Database.ExecuteSqlRawAsync("""
                CREATE TRIGGER IF NOT EXISTS fail_boom_entries BEFORE INSERT ON ledger_entries
                WHEN NEW.request_id LIKE 'boom-%' BEGIN SELECT RAISE(ABORT, 'boom'); END
                """);
        }

        var tasks = Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            var requestId = i % 6 == 0 ? $"boom-{account}-{i}" : $"ok-{account}-{i}";
            try
            {
                return (Ok: (await ledger.ReserveAsync(account, Credits.FromCredits(1), requestId)).Status == ReserveStatus.Reserved, Failed: false);
            }
            catch (SqliteException ex) when (ex.Message.Contains("boom"))
            {
                return (Ok: false, Failed: true);
            }
        })).ToList();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(10, results.Count(r => r.Failed));
        Assert.Equal(50, results.Count(r => r.Ok));
        // Only the failed operations were undone: 50 holds, no partial writes of the failed ones (the account's held
        // total, the activity entries and the holds agree), and a fresh connection sees the same.
        var balance = (await db.CreateLedger(_clock).GetBalanceAsync(account))!;
        Assert.Equal(Credits.FromCredits(50), balance.Held);
        Assert.Equal(Credits.FromCredits(50), balance.Available);
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
        await using var check = new LedgerDbContext(db.Options);
        Assert.Equal(0, await check.Database.SqlQuery<int>($"SELECT COUNT(*) AS \"Value\" FROM credit_holds WHERE request_id LIKE {$"boom-{account}-%"}").SingleAsync());
        Assert.Equal(50, await check.Database.SqlQuery<int>(
            $"SELECT COUNT(*) AS \"Value\" FROM ledger_entries WHERE type = 'hold' AND request_id LIKE {$"ok-{account}-%"}").SingleAsync());
    }

    [Fact]
    public async Task TheOperationThatOpensAGroup_FailingAlone_LeavesNothing_AndTheNextOneIsCommitted()
    {
        // The group's first operation runs without a savepoint: undoing it must roll the whole transaction back.
        var ledger = db.CreateLedger(_clock);
        var account = await db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(100), null, null, "pack", null);
        await using (var setup = new LedgerDbContext(db.Options))
        {
            await setup.Database.ExecuteSqlRawAsync("""
                CREATE TRIGGER IF NOT EXISTS fail_boom_entries BEFORE INSERT ON ledger_entries
                WHEN NEW.request_id LIKE 'boom-%' BEGIN SELECT RAISE(ABORT, 'boom'); END
                """);
        }

        for (var i = 0; i < 3; i++)
        {
            // One at a time: each failing reserve is alone in its group (its hold row and held total written before the failure).
            await Assert.ThrowsAsync<SqliteException>(() => ledger.ReserveAsync(account, Credits.FromCredits(1), $"boom-{account}-alone-{i}"));
            Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromCredits(1), $"ok-{account}-alone-{i}")).Status);
        }

        var balance = (await db.CreateLedger(_clock).GetBalanceAsync(account))!;
        Assert.Equal(Credits.FromCredits(3), balance.Held);
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
        await using var check = new LedgerDbContext(db.Options);
        var leftOver = await check.Database.SqlQuery<int>($"SELECT COUNT(*) AS \"Value\" FROM credit_holds WHERE request_id LIKE {$"boom-{account}-%"}").SingleAsync();
        Assert.True(leftOver == 0, $"{leftOver} holds of failed operations alone in their group were committed");
    }

    [Fact]
    public async Task AGroupItsOpenerCommitsAtOnce_StartsNoWatchdog_AnOrdinaryGroupDoes()
    {
        // The watchdog commits a group left open; a group opened by an operation that commits as it leaves (the
        // settlement batch writer) is never left open, so watching it would only wake a thread for nothing.
        await using var writer = new DatabaseWriter(db.Factory, groupCommitMaxOperations: 64);
        await AtOnceAsync(writer);
        Assert.False(writer.GroupWatchdogRunning, "a group committed by its opener as it left started the watchdog thread");
        Assert.Equal(1, writer.GroupCommitStats.Commits);

        await writer.InTransactionAsync(s => s.ScalarAsync("SELECT 1"));
        Assert.True(writer.GroupWatchdogRunning, "an ordinary group (committed later, by whoever comes) is not watched");

        static async Task AtOnceAsync(DatabaseWriter writer)
        {
            DatabaseWriter.CommitEachAtOnce();
            await writer.InTransactionAsync(s => s.ScalarAsync("SELECT 1"));
        }
    }
}

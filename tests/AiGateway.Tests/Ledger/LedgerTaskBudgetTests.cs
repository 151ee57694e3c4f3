using AiGateway.Ledger;
using AiGateway.Pricing;

namespace AiGateway.Tests.Ledger;

/// <summary>Task budgets in the ledger: checked under the account lock, so separate instances cannot overspend a task.</summary>
public abstract class LedgerTaskBudgetTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));

    [Fact]
    public async Task TaskBudget_20ParallelReservesOnSeparateInstancesBudgetFor5_Exactly5Held()
    {
        var account = await db.CreateAccountAsync();
        await db.CreateLedger(_clock).GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(100), null, null, "pack", null);

        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            var instance = db.CreateLedger(_clock);
            start.Wait();
            return await instance.ReserveAsync(account, Credits.FromCredits(1), $"tb-{account}-{i}", default, "agent", Credits.FromCredits(5));
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(5, results.Count(r => r.Status == ReserveStatus.Reserved));
        Assert.Equal(15, results.Count(r => r.Status == ReserveStatus.TaskBudgetExceeded));
        var view = (await db.CreateLedger(_clock).GetTaskBudgetAsync(account, "agent"))!;
        Assert.Equal((Credits.FromCredits(5), Credits.FromCredits(5), Credits.Zero), (view.Budget, view.Held, view.Spent));
    }

    [Fact]
    public async Task TaskBudget_SettledBelowHold_FreesTheDifferenceForTheTask()
    {
        var account = await db.CreateAccountAsync();
        var ledger = db.CreateLedger(_clock);
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(100), null, null, "pack", null);

        var first = await ledger.ReserveAsync(account, Credits.FromCredits(2), $"a-{account}", default, "t", Credits.FromCredits(3));
        var blocked = await ledger.ReserveAsync(account, Credits.FromCredits(2), $"b-{account}", default, "t");
        await ledger.SettleAsync($"a-{account}", Credits.FromCredits(1));
        var after = await ledger.ReserveAsync(account, Credits.FromCredits(2), $"c-{account}", default, "t");
        var released = await ledger.ReleaseAsync($"c-{account}");
        var again = await ledger.ReserveAsync(account, Credits.FromCredits(2), $"d-{account}", default, "t");

        Assert.Equal(ReserveStatus.Reserved, first.Status);
        Assert.Equal(ReserveStatus.TaskBudgetExceeded, blocked.Status);
        Assert.Equal(ReserveStatus.Reserved, after.Status);
        Assert.Equal(ReleaseStatus.Released, released.Status);
        Assert.Equal(ReserveStatus.Reserved, again.Status);
        Assert.Equal(Credits.FromCredits(1), (await ledger.GetTaskBudgetAsync(account, "t"))!.Spent);
    }

    [Fact]
    public async Task TaskBudget_TaskWithoutBudget_OnlyAccountBalanceLimits()
    {
        var account = await db.CreateAccountAsync();
        var ledger = db.CreateLedger(_clock);
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(3), null, null, "pack", null);

        var held = await ledger.ReserveAsync(account, Credits.FromCredits(3), $"a-{account}", default, "free-task");
        var refused = await ledger.ReserveAsync(account, Credits.FromCredits(1), $"b-{account}", default, "free-task");

        Assert.Equal(ReserveStatus.Reserved, held.Status);
        Assert.Equal(ReserveStatus.InsufficientCredits, refused.Status);
        Assert.Null(await ledger.GetTaskBudgetAsync(account, "free-task"));
    }
}

/// <summary>Task budgets on SQLite.</summary>
public sealed class SqliteLedgerTaskBudgetTests(SqliteLedgerFixture db) : LedgerTaskBudgetTests<SqliteLedgerFixture>(db);

/// <summary>Task budgets on PostgreSQL.</summary>
public sealed class PostgresLedgerTaskBudgetTests(PostgresLedgerFixture db) : LedgerTaskBudgetTests<PostgresLedgerFixture>(db);

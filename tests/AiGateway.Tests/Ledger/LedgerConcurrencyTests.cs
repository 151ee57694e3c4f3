using AiGateway.Ledger;
using AiGateway.Pricing;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// Real parallelism: every task gets its own <see cref="CreditLedger"/> (own DbContexts, connections and
/// in-process state, like separate gateway instances), so only the database can keep the books straight.
/// </summary>
public abstract class LedgerConcurrencyTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));

    [Fact]
    public async Task ReserveAsync_200ParallelAgainstBalanceFor50_Exactly50Succeed()
    {
        var account = await db.CreateAccountAsync();
        await db.CreateLedger(_clock).GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(50), null, null, "pack", null);

        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var instance = db.CreateLedger(_clock);
            start.Wait();
            return await instance.ReserveAsync(account, Credits.FromCredits(1), $"par-{account}-{i}");
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(50, results.Count(r => r.Status == ReserveStatus.Reserved));
        Assert.Equal(150, results.Count(r => r.Status == ReserveStatus.InsufficientCredits));
        Assert.All(results, r => Assert.True(r.Available.Micro >= 0));
        var balance = (await db.CreateLedger(_clock).GetBalanceAsync(account))!;
        Assert.Equal(Credits.Zero, balance.Available);
        Assert.Equal(Credits.FromCredits(50), balance.Held);
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
    }

    [Fact]
    public async Task SettleReleaseAndGrant_InParallel_KeepConservation()
    {
        var account = await db.CreateAccountAsync();
        var setup = db.CreateLedger(_clock);
        await setup.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(60), null, null, "pack", null);
        for (var i = 0; i < 60; i++) await setup.ReserveAsync(account, Credits.FromCredits(1), $"cs-{account}-{i}");

        var random = new Random(42);
        var work = new List<Func<CreditLedger, Task>>();
        for (var i = 0; i < 60; i++)
        {
            var request = $"cs-{account}-{i}";
            var actual = Credits.FromDecimal(random.Next(0, 300) / 100m); // 0..3 credits: below and above the hold
            work.Add(i % 5 == 0 ? l => l.ReleaseAsync(request) : l => l.SettleAsync(request, actual));
            work.Add(l => l.SettleAsync(request, actual)); // duplicate deliveries race the first
        }
        for (var i = 0; i < 40; i++)
        {
            var key = $"grant-{i % 20}"; // each key delivered twice
            work.Add(l => l.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(0.5m), null, null, "gift", key));
        }
        work = work.OrderBy(_ => random.Next()).ToList();
        await Task.WhenAll(work.Select(w => Task.Run(() => w(db.CreateLedger(_clock)))));

        var snapshot = await LedgerSnapshot.ReadAsync(db, account);
        snapshot.AssertBalanced();
        Assert.Equal(21, snapshot.Lots.Count);                      // 1 pack + 20 distinct grant keys
        Assert.Equal(0, snapshot.State!.Held);                       // every hold resolved
        // A release races a settle of the same request: either may win, but each hold is resolved exactly once.
        Assert.InRange(snapshot.Charges.Count, 48, 60);
        Assert.Equal(60, snapshot.Holds.Count);
        Assert.All(snapshot.Holds, h => Assert.NotEqual(HoldStatuses.Active, h.Status));
    }
}

/// <summary>Concurrency on SQLite.</summary>
public sealed class SqliteLedgerConcurrencyTests(SqliteLedgerFixture db) : LedgerConcurrencyTests<SqliteLedgerFixture>(db);

/// <summary>Concurrency on PostgreSQL.</summary>
public sealed class PostgresLedgerConcurrencyTests(PostgresLedgerFixture db) : LedgerConcurrencyTests<PostgresLedgerFixture>(db);

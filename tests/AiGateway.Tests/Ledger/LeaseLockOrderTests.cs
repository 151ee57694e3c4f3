using System.Collections.Concurrent;
using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// The lock order of the ledger's transactions under real parallel work: two gateway instances (each its own
/// <see cref="CreditLedger"/> and <see cref="CreditLeases"/>) on one database, four accounts, and at the same time
/// leased calls settled in batches that span accounts, lease renewals, resizes and returns, exact holds and settles,
/// refused exact holds that recall leases, admin grants and revokes, and sweeps. Any failed transaction fails the test:
/// on PostgreSQL a deadlock (40P01) between them (thrown, or logged by a batch that fell back to one-by-one writes).
/// Afterwards every account's books balance and nothing was charged twice.
/// </summary>
public abstract class LeaseLockOrderTests<TFixture>(TFixture db, ITestOutputHelper output) : IClassFixture<TFixture>
    where TFixture : LedgerDatabaseFixture
{
    private const int Accounts = 4;
    private const int CallsPerWorker = 120;

    [Fact]
    public async Task TwoInstancesFourAccounts_LeasesBatchesExactHoldsAndAdminChangesInParallel_NoTransactionFails()
    {
        var accounts = new Guid[Accounts];
        var errors = new ConcurrentQueue<string>();
        var instances = new (CreditLedger Ledger, CreditLeases Leases)[2];
        for (var i = 0; i < instances.Length; i++) instances[i] = await StartAsync($"lock-order-{Guid.NewGuid():N}-{i}", errors);
        for (var a = 0; a < Accounts; a++)
        {
            accounts[a] = await db.CreateAccountAsync();
            await instances[0].Ledger.GrantAsync(accounts[a], CreditKinds.Bonus, Credits.FromDecimal(100_000), null, null, "test", $"base-{accounts[a]}");
        }
        long leased = 0, exact = 0, settledMicro = 0;
        var requestIds = new ConcurrentBag<string>();

        async Task CallsAsync(int instance, int worker)
        {
            var (ledger, leases) = instances[instance];
            var random = new Random(instance * 100 + worker);
            for (var n = 0; n < CallsPerWorker; n++)
            {
                var account = accounts[random.Next(Accounts)];
                var requestId = $"lock-{instance}-{worker}-{n}-{Guid.NewGuid():N}";
                var hold = Credits.FromDecimal(random.Next(1, 40));
                var actual = new Credits(random.Next(0, (int)hold.Micro));
                // Every 30th call of a worker holds exactly in the database, as a gateway does for an account whose lease
                // cannot cover a call (an exact hold recalls the account's leases for a while, so the calls after it
                // fall back too); the leased calls otherwise fall back only after a recall, too rarely to count on.
                var exactCall = n % 30 == 29;
                if (!exactCall && await leases.TryReserveAsync(account, hold, CancellationToken.None) is { } held)
                {
                    Interlocked.Increment(ref leased);
                    if (random.Next(5) == 0)
                    {
                        leases.Release(held.Hold);
                        continue;
                    }
                    var result = await leases.SettleAsync(held.Hold, requestId, actual, scope: null);
                    Assert.Equal(SettleStatus.Settled, result.Status);
                }
                else
                {
                    if (!exactCall) await leases.ReturnUnusedAsync(account, CancellationToken.None);
                    var reserve = await ledger.ReserveAsync(account, hold, requestId);
                    if (!reserve.Succeeded) continue;
                    Interlocked.Increment(ref exact);
                    Assert.Equal(SettleStatus.Settled, (await ledger.SettleAsync(requestId, actual)).Status);
                }
                requestIds.Add(requestId);
                Interlocked.Add(ref settledMicro, actual.Micro);
            }
        }

        async Task RenewAsync(int instance)
        {
            for (var n = 0; n < CallsPerWorker; n++)
            {
                await instances[instance].Leases.RefreshAsync(CancellationToken.None);
                await Task.Yield();
            }
        }

        async Task AdminAsync()
        {
            var random = new Random(7);
            for (var n = 0; n < CallsPerWorker / 2; n++)
            {
                var ledger = instances[n % 2].Ledger;
                var account = accounts[random.Next(Accounts)];
                var grant = await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(5), null, null, "test", $"admin-{account}-{n}");
                // A refused exact hold recalls the other instances' leases of the account (lease rows under its lock).
                await ledger.ReserveAsync(account, Credits.FromDecimal(1_000_000), $"too-big-{n}-{Guid.NewGuid():N}");
                if (random.Next(2) == 0) await ledger.RevokeGrantAsync(grant.Lot!.Id);
                await ledger.SweepAsync();
            }
        }

        var work = new List<Task>();
        foreach (var i in Enumerable.Range(0, instances.Length))
        {
            foreach (var w in Enumerable.Range(0, 6)) work.Add(Task.Run(() => CallsAsync(i, w)));
            work.Add(Task.Run(() => RenewAsync(i)));
        }
        work.Add(Task.Run(AdminAsync));
        await Task.WhenAll(work);
        foreach (var (_, leases) in instances) await leases.StopAsync(CancellationToken.None);

        output.WriteLine($"leased {leased}, exact {exact}, settled {settledMicro} micro-credits");
        Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(5)));
        Assert.True(leased > 0 && exact > 0, $"leased {leased}, exact {exact}: both paths must run");
        foreach (var account in accounts) (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
        // Settled once each: one charge per request, and the charges are what the calls were charged.
        var charged = 0L;
        foreach (var account in accounts)
        {
            var snapshot = await LedgerSnapshot.ReadAsync(db, account);
            Assert.Equal(snapshot.Charges.Count, snapshot.Charges.Select(c => c.RequestId).Distinct().Count());
            charged += snapshot.Charges.Sum(c => c.Amount);
        }
        Assert.Equal(settledMicro, charged);
    }

    private async Task<(CreditLedger, CreditLeases)> StartAsync(string id, ConcurrentQueue<string> errors)
    {
        void Configure(LedgerOptions o)
        {
            o.Leases = true;
            // Renewals are driven by the test; small leases so they are resized and recalled often.
            o.LeaseRefreshInterval = TimeSpan.FromHours(1);
            o.LeaseMinFreeCredits = 4;
            o.LeaseMaxShare = 0.02;
            o.LeaseSpendWindow = TimeSpan.FromMilliseconds(200);
        }
        var ledger = db.CreateLedger(TimeProvider.System, Configure);
        var settings = new LedgerOptions();
        Configure(settings);
        var leases = new CreditLeases(ledger, Microsoft.Extensions.Options.Options.Create(settings), TimeProvider.System, new ErrorLogger(errors), id,
            // No call here carries an interrupted record: the admission log is never written.
            Path.Combine(Path.GetTempPath(), $"aigw-admissions-{Guid.NewGuid():N}.jsonl"));
        await leases.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.True(leases.Active);
        return (ledger, leases);
    }

    /// <summary>Collects every warning or error the lease book logs (a failed batch is logged, then written one by one).</summary>
    private sealed class ErrorLogger(ConcurrentQueue<string> errors) : ILogger<CreditLeases>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning) errors.Enqueue($"{logLevel}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
        }
    }
}

/// <summary>The lock-order test on SQLite (one writer at a time: it must simply never fail).</summary>
public sealed class SqliteLeaseLockOrderTests(SqliteLedgerFixture db, ITestOutputHelper output)
    : LeaseLockOrderTests<SqliteLedgerFixture>(db, output);

/// <summary>The lock-order test on PostgreSQL (row locks: a deadlock would fail it).</summary>
public sealed class PostgresLeaseLockOrderTests(PostgresLedgerFixture db, ITestOutputHelper output)
    : LeaseLockOrderTests<PostgresLedgerFixture>(db, output);

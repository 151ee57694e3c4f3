using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// A lease its instance did not use for a spend window is given back at the next refresh (so other instances can spend
/// it), and the account's next call takes a new lease: it is not sent to the exact path. Before, the return answered
/// "hold exactly" like a lease refused for a low balance, and every call of the account for the next spend window held
/// exactly in the database (found in `pg-statements.sh LOAD` runs: 139–579 exact holds after a warm-up pause, on an account
/// with 100,000,000 credits).
/// </summary>
public abstract class IdleLeaseTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    [Fact]
    public async Task AnIdleLeaseReturned_TheNextCallLeasesAgain_NotExactly()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 6, 1, 9, 0, 0, TimeSpan.Zero));
        var settings = new LedgerOptions { Leases = true, LeaseRefreshInterval = TimeSpan.FromHours(1) };
        var ledger = db.CreateLedger(clock, o =>
        {
            o.Leases = true;
            o.LeaseRefreshInterval = TimeSpan.FromHours(1);
        });
        var id = $"idle-{Guid.NewGuid():N}";
        var leases = new CreditLeases(ledger, Microsoft.Extensions.Options.Options.Create(settings), clock, NullLogger<CreditLeases>.Instance, id,
            Path.Combine(Path.GetTempPath(), $"aigw-{id}.jsonl"));
        await leases.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(10);
            var account = await db.CreateAccountAsync();
            await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", $"{id}-g");

            var first = await leases.TryReserveAsync(account, Credits.FromDecimal(5), CancellationToken.None);
            Assert.NotNull(first);
            leases.Release(first.Value.Hold);
            Assert.True(await LeasedAsync(account) > 0, "the first call took a lease");

            // Unused for longer than a spend window: the refresh gives the lease back.
            clock.Advance(settings.LeaseSpendWindow + TimeSpan.FromSeconds(1));
            await leases.RefreshAsync(CancellationToken.None);
            Assert.Equal(0, await LeasedAsync(account));

            var next = await leases.TryReserveAsync(account, Credits.FromDecimal(5), CancellationToken.None);
            Assert.NotNull(next);
            Assert.Equal(0L, leases.Fallbacks["exactWindow"]);
            Assert.True(await LeasedAsync(account) > 0, "the next call took a new lease");
            leases.Release(next.Value.Hold);
        }
        finally
        {
            await leases.StopAsync(CancellationToken.None);
        }
    }

    // The account's lease rows, unexpired or not (a returned lease is deleted or left at 0).
    private async Task<long> LeasedAsync(Guid account)
    {
        await using var context = new LedgerDbContext(db.Options);
        return await context.CreditLeases.Where(l => l.AccountId == account).SumAsync(l => (long?)l.Amount) ?? 0;
    }
}

public sealed class SqliteIdleLeaseTests(SqliteLedgerFixture db) : IdleLeaseTests<SqliteLedgerFixture>(db);

public sealed class PostgresIdleLeaseTests(PostgresLedgerFixture db) : IdleLeaseTests<PostgresLedgerFixture>(db);

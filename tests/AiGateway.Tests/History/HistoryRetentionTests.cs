using AiGateway.Api;
using AiGateway.History;
using AiGateway.Hosting;
using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using AiGateway.Tests.Api;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.History;

/// <summary>
/// Retention archives, then deletes: what it deletes reads back from the archive exactly (nothing lost, nothing twice),
/// balances and rollup-backed summaries do not move, and a run interrupted between archiving and deleting is finished
/// by the next one without a duplicate.
/// </summary>
public abstract class HistoryRetentionTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>, IDisposable where TFixture : LedgerDatabaseFixture
{
    private static readonly DateTimeOffset Now = new(2026, 11, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Cutoff = new(2025, 10, 1, 0, 0, 0, TimeSpan.Zero); // 13 months before November 2026
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"aigw-archive-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private HistoryRetention Retention(CreditLedger ledger) => new(fixture.Factory, ledger.Writer,
        Options.Create(new HistoryOptions { ArchivePath = _folder, RetentionDeleteBatch = 7 }), new ManualTimeProvider(Now), NullLogger<HistoryRetention>.Instance);

    private static UsageRollupStep Step(LedgerDatabaseFixture fixture, CreditLedger ledger) =>
        new(fixture.Factory, ledger.Writer, Options.Create(new HistoryOptions()), TimeProvider.System);

    // Calls every ~39 hours over the 20 months before now, so the oldest 7 months are past the cutoff.
    private async Task<(Guid Account, List<CallRecord> Calls)> SeedAsync(CreditLedger ledger)
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        await ledger.GrantAsync(account, "bonus", Credits.FromDecimal(1000), null, 3650, "seed", null);
        var start = Now.AddMonths(-20);
        var calls = Enumerable.Range(0, 370).Select(n => HistorySeed.Call(account, n, start.AddMinutes(n * 2347))).ToList();
        await HistorySeed.CallsAsync(fixture.Options, calls);
        // Some of them charged through the ledger, so there are movements that explain the balance.
        foreach (var call in calls.Where((_, i) => i % 9 == 0)) await ledger.ChargeAsync(account, new Credits(call.ChargedMicro), call.RequestId);
        await Step(fixture, ledger).CatchUpAsync();
        return (account, calls);
    }

    private static object Row(CallRecord r) => new { r.Id, r.RequestId, r.AccountId, r.KeyId, r.Model, r.Feature, r.Task, r.StatusCode, r.ChargedMicro, r.InputTokens, r.StartedAt };

    [Fact]
    public async Task Run_ArchivesThenDeletes_ReadBackEqualsDeletedAndBalancesStay()
    {
        await using var ledger = fixture.CreateLedger(new ManualTimeProvider(Now));
        var (account, _) = await SeedAsync(ledger);
        await using var db = new LedgerDbContext(fixture.Options);
        var old = await db.CallRecords.AsNoTracking().Where(r => r.AccountId == account && r.StartedAt < Cutoff).OrderBy(r => r.Id).ToListAsync();
        var kept = await db.CallRecords.AsNoTracking().Where(r => r.AccountId == account && r.StartedAt >= Cutoff).CountAsync();
        var oldOfAllAccounts = await db.CallRecords.CountAsync(r => r.StartedAt < Cutoff);
        var balance = await ledger.GetBalanceAsync(account);
        var entries = await db.LedgerEntries.CountAsync(e => e.AccountId == account);
        var range = (From: Now.AddMonths(-20).AddDays(-1).Date, To: Now.Date);
        var summary = await AccountQueries.SummaryAsync(db, account, range.From, range.To, "model", 0, default);

        var result = await Retention(ledger).RunAsync(default);

        Assert.Equal(oldOfAllAccounts, result.Archived);
        Assert.Equal(oldOfAllAccounts, result.Deleted);
        Assert.Equal(0, await db.CallRecords.CountAsync(r => r.AccountId == account && r.StartedAt < Cutoff));
        Assert.Equal(kept, await db.CallRecords.CountAsync(r => r.AccountId == account && r.StartedAt >= Cutoff));
        var readBack = await new CallArchive(_folder).ReadAsync().Where(r => r.AccountId == account).OrderBy(r => r.Id).ToListAsync();
        Assert.Equal(old.Select(Row), readBack.Select(Row));
        Assert.Equivalent(balance, await ledger.GetBalanceAsync(account));
        Assert.Equal(entries, await db.LedgerEntries.CountAsync(e => e.AccountId == account));
        // The deleted calls stay in the rollups: a summary over whole days does not change.
        Assert.Equivalent(summary, await AccountQueries.SummaryAsync(db, account, range.From, range.To, "model", 0, default));

        // The command line reads the same rows back, and refuses an altered part.
        var output = new StringWriter();
        Assert.Equal(0, await ArchiveCommand.RunAsync(["--read-archive", _folder], output, TextWriter.Null));
        Assert.Equal(readBack.Count, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(account.ToString())));
        var part = Path.Combine(_folder, new CallArchive(_folder).ReadManifest().Parts[0].File);
        var bytes = await File.ReadAllBytesAsync(part);
        bytes[^5] ^= 0xFF;
        await File.WriteAllBytesAsync(part, bytes);
        Assert.Equal(1, await ArchiveCommand.RunAsync(["--read-archive", _folder], TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public async Task Run_InterruptedBetweenArchiveAndDelete_NextRunLosesAndRepeatsNothing()
    {
        await using var ledger = fixture.CreateLedger(new ManualTimeProvider(Now));
        var (account, _) = await SeedAsync(ledger);
        await using var db = new LedgerDbContext(fixture.Options);
        var old = await db.CallRecords.AsNoTracking().Where(r => r.AccountId == account && r.StartedAt < Cutoff).OrderBy(r => r.Id).ToListAsync();

        await Assert.ThrowsAsync<OperationCanceledException>(() => Retention(ledger).RunAsync(default, crashAfterArchive: true));
        Assert.True(await db.CallRecords.CountAsync(r => r.AccountId == account && r.StartedAt < Cutoff) > 0);
        await Retention(ledger).RunAsync(default);

        // A late call in an archived month (a journal replay, say) goes to a new part of that month.
        var late = HistorySeed.Call(account, 9999, old[0].StartedAt.AddMinutes(1));
        await HistorySeed.CallsAsync(fixture.Options, [late]);
        await Step(fixture, ledger).CatchUpAsync();
        await Retention(ledger).RunAsync(default);

        Assert.Equal(0, await db.CallRecords.CountAsync(r => r.AccountId == account && r.StartedAt < Cutoff));
        var readBack = await new CallArchive(_folder).ReadAsync().Where(r => r.AccountId == account).ToListAsync();
        Assert.Equal(readBack.Count, readBack.Select(r => r.Id).Distinct().Count());
        Assert.Equal(old.Append(late).Select(Row), readBack.OrderBy(r => r.Id).Select(Row));
    }
}

/// <summary>Retention on SQLite.</summary>
public sealed class SqliteHistoryRetentionTests(SqliteLedgerFixture fixture) : HistoryRetentionTests<SqliteLedgerFixture>(fixture);

/// <summary>Retention on PostgreSQL.</summary>
public sealed class PostgresHistoryRetentionTests(PostgresLedgerFixture fixture) : HistoryRetentionTests<PostgresLedgerFixture>(fixture);

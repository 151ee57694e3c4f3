using AiGateway.Api;
using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Api;

/// <summary>
/// The all-accounts export from a start time pages in <c>(started_at, id)</c> order: across chunk boundaries, with many
/// calls sharing a start time and ids out of start order, every call since the start comes exactly once, in order.
/// </summary>
public abstract class CsvExportChunkTests<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    [Fact]
    public async Task UsageTimeChunks_PagedToTheEnd_ReturnEveryCallSinceTheStartOnceInOrder()
    {
        var start = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        var account = await HistorySeed.AccountAsync(fixture.Options);
        // 2,600 calls over ~2.6 chunks; starts repeat (n / 7) and run backwards every other call, so ids and starts disagree.
        var calls = Enumerable.Range(0, 2600)
            .Select(n => HistorySeed.Call(account, n, start.AddSeconds((n % 2 == 0 ? n : 2600 - n) / 7 - 60))).ToList();
        await HistorySeed.CallsAsync(fixture.Options, calls);
        var from = start;

        await using var db = new LedgerDbContext(fixture.Options);
        var all = db.CallRecords.AsNoTracking().Where(r => r.AccountId == account && r.StartedAt >= from);
        var read = new List<(DateTimeOffset, long)>();
        var after = (Start: from, Id: 0L);
        while (true)
        {
            var chunk = await CsvExportApi.UsageTimeChunkQuery(all, after.Start, after.Id).Select(r => new { r.StartedAt, r.Id }).ToListAsync();
            read.AddRange(chunk.Select(r => (r.StartedAt, r.Id)));
            if (chunk.Count < CsvExportApi.ChunkSize) break;
            after = (chunk[^1].StartedAt, chunk[^1].Id);
        }

        var expected = await all.OrderBy(r => r.StartedAt).ThenBy(r => r.Id).Select(r => new { r.StartedAt, r.Id }).ToListAsync();
        Assert.True(expected.Count > 2 * CsvExportApi.ChunkSize, $"only {expected.Count} calls since the start");
        Assert.Equal(expected.Select(r => (r.StartedAt, r.Id)), read);
    }
}

/// <summary>Export chunks on SQLite.</summary>
public sealed class SqliteCsvExportChunkTests(SqliteLedgerFixture fixture) : CsvExportChunkTests<SqliteLedgerFixture>(fixture);

/// <summary>Export chunks on PostgreSQL.</summary>
public sealed class PostgresCsvExportChunkTests(PostgresLedgerFixture fixture) : CsvExportChunkTests<PostgresLedgerFixture>(fixture);

using AiGateway.History;
using AiGateway.Ledger;
using AiGateway.Storage;
using AiGateway.Tests.Api;
using AiGateway.Tests.Ledger;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.History;

/// <summary>
/// The periodic WAL checkpoint really runs, reads SQLite's answer and truncates the WAL (the first version read the
/// answer of its <c>busy_timeout</c> pragma instead and failed on every tick).
/// </summary>
public sealed class SqliteCheckpointServiceTests(SqliteLedgerFixture fixture) : IClassFixture<SqliteLedgerFixture>
{
    [Fact]
    public async Task CheckpointAsync_AfterWrites_ReturnsResultAndTruncatesWal()
    {
        var account = await HistorySeed.AccountAsync(fixture.Options);
        await HistorySeed.CallsAsync(fixture.Options, Enumerable.Range(0, 200)
            .Select(n => HistorySeed.Call(account, n, DateTimeOffset.UtcNow.AddMinutes(-n))));
        await using var ledger = fixture.CreateLedger(TimeProvider.System);
        var service = new SqliteCheckpointService(fixture.Factory, ledger.Writer, Options.Create(new HistoryOptions()),
            NullLogger<SqliteCheckpointService>.Instance);

        var checkpoint = await service.CheckpointAsync(CancellationToken.None);

        Assert.NotNull(checkpoint);
        Assert.False(checkpoint.Value.Busy);
        Assert.Equal(checkpoint.Value.LogFrames, checkpoint.Value.CheckpointedFrames);
        await using var db = new LedgerDbContext(fixture.Options);
        var dataSource = new SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource;
        // SQLite deletes the WAL when the last connection closes, so "no file" is as good as empty (and the message
        // must not read the length of a file that is not there: it is built even when the assertion holds).
        var wal = new FileInfo(dataSource + "-wal");
        var walBytes = wal.Exists ? wal.Length : 0;
        Assert.True(walBytes == 0, $"WAL still {walBytes} bytes after a TRUNCATE checkpoint");
    }
}

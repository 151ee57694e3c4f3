using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Storage;

/// <summary>
/// <see cref="LedgerSession.CommitWithNextBatch"/> on PostgreSQL: the transaction's last batch carries its COMMIT (one
/// round trip less), a statement failing in that batch commits nothing and the session still rolls back cleanly, nothing
/// can run after the COMMIT was sent (it would run outside the transaction), and on SQLite it changes nothing.
/// </summary>
public sealed class CommitInBatchTests(PostgresLedgerFixture postgres, SqliteLedgerFixture sqlite)
    : IClassFixture<PostgresLedgerFixture>, IClassFixture<SqliteLedgerFixture>
{
    private const string Watermark = "commit_in_batch_test";

    private static async Task<long?> PositionAsync(LedgerDatabaseFixture db, string name)
    {
        await using var context = new LedgerDbContext(db.Options);
        return await context.Database.SqlQueryRaw<long>("SELECT position AS \"Value\" FROM history_watermarks WHERE name = {0}", name)
            .Cast<long?>().FirstOrDefaultAsync();
    }

    private static string Upsert(string name, long position) =>
        $"INSERT INTO history_watermarks (name, position, updated_at) VALUES ('{name}', {position}, 0) " +
        $"ON CONFLICT (name) DO UPDATE SET position = {position}";

    [Fact]
    public async Task Postgres_TheLastBatchCarriesTheCommit_OneRoundTripLess()
    {
        await using var writer = new DatabaseWriter(postgres.Factory, 0);
        var name = $"{Watermark}-ok-{Guid.NewGuid():N}";
        var before = writer.RoundTrips;
        var afterCommit = 0;
        await using (var s = await writer.BeginAsync(CancellationToken.None))
        {
            s.AfterCommit(() => afterCommit++);
            await s.ExecuteAsync(Upsert(name, 1));
            s.CommitWithNextBatch();
            // (Ending in a semicolon, as a statement list may.)
            Assert.Equal(7, await s.BatchAsync(Upsert(name, 7) + ";\nSELECT position FROM history_watermarks WHERE name = '" + name + "';\n"));
            Assert.Equal(0, afterCommit);
            await s.CommitAsync();
        }
        // Two round trips (a statement, then the batch with the COMMIT): a separate COMMIT would make three.
        Assert.Equal(2, writer.RoundTrips - before);
        Assert.Equal(1, afterCommit);
        Assert.Equal(7, await PositionAsync(postgres, name));
    }

    [Fact]
    public async Task Postgres_AStatementFailingInTheCommitBatch_CommitsNothing_AndTheConnectionServesTheNextTransaction()
    {
        await using var writer = new DatabaseWriter(postgres.Factory, 0);
        var name = $"{Watermark}-fail-{Guid.NewGuid():N}";
        await using (var s = await writer.BeginAsync(CancellationToken.None))
        {
            await s.ExecuteAsync(Upsert(name, 1));
            s.CommitWithNextBatch();
            // The second statement fails (not a number): the server skips the rest, COMMIT included.
            await Assert.ThrowsAnyAsync<Npgsql.PostgresException>(() =>
                s.BatchAsync(Upsert(name, 2) + ";\nSELECT CAST('x' AS BIGINT)"));
        }
        Assert.Null(await PositionAsync(postgres, name));
        // The pool's connections still work: the next transactions commit (one of them on the connection just used).
        for (var i = 0; i < 3; i++)
        {
            await using var s = await writer.BeginAsync(CancellationToken.None);
            s.CommitWithNextBatch();
            await s.BatchAsync(Upsert(name, 10 + i));
            await s.CommitAsync();
        }
        Assert.Equal(12, await PositionAsync(postgres, name));
    }

    [Fact]
    public async Task Postgres_NothingRunsAfterTheCommitWasSent()
    {
        await using var writer = new DatabaseWriter(postgres.Factory, 0);
        var name = $"{Watermark}-after-{Guid.NewGuid():N}";
        await using (var s = await writer.BeginAsync(CancellationToken.None))
        {
            s.CommitWithNextBatch();
            await s.BatchAsync(Upsert(name, 3));
            // Would run outside the transaction (autocommit) if it were sent: refused before anything is sent.
            var sent = writer.RoundTrips;
            await Assert.ThrowsAsync<InvalidOperationException>(() => s.ExecuteAsync(Upsert(name, 4)));
            await Assert.ThrowsAsync<InvalidOperationException>(() => s.ReaderAsync("SELECT 1"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => s.BatchReaderAsync([("SELECT 1", [])]));
            Assert.Equal(sent, writer.RoundTrips);
            await s.CommitAsync();
        }
        Assert.Equal(3, await PositionAsync(postgres, name));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Postgres_ACallerThatStopsReadingEarly_CommitAsyncReadsTheBatchToItsEnd(bool succeeds)
    {
        await using var writer = new DatabaseWriter(postgres.Factory, 0);
        var name = $"{Watermark}-early-{Guid.NewGuid():N}";
        var afterCommit = 0;
        await using (var s = await writer.BeginAsync(CancellationToken.None))
        {
            s.AfterCommit(() => afterCommit++);
            s.CommitWithNextBatch();
            var reader = await s.ReaderAsync("SELECT 1;\n" + Upsert(name, 5) + (succeeds ? "" : ";\nSELECT CAST('x' AS BIGINT)"));
            Assert.True(await reader.ReadAsync());
            // Not read further, not disposed: the commit reads the rest (the upsert, then the COMMIT) and reports how it ended.
            if (succeeds) await s.CommitAsync();
            else await Assert.ThrowsAsync<Npgsql.PostgresException>(() => s.CommitAsync());
        }
        Assert.Equal(succeeds ? 1 : 0, afterCommit);
        Assert.Equal(succeeds ? 5 : null, await PositionAsync(postgres, name));
    }

    [Fact]
    public async Task Sqlite_CommitWithNextBatch_ChangesNothing()
    {
        await using var writer = new DatabaseWriter(sqlite.Factory, 0);
        var name = $"{Watermark}-sqlite-{Guid.NewGuid():N}";
        await using (var s = await writer.BeginAsync(CancellationToken.None))
        {
            s.CommitWithNextBatch();
            await s.BatchAsync(Upsert(name, 8));
            // SQLite's write group commits: later statements still belong to the transaction.
            await s.ExecuteAsync(Upsert(name, 9));
            await s.CommitAsync();
        }
        Assert.Equal(9, await PositionAsync(sqlite, name));
    }
}

using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Storage;

/// <summary>The set-up every SQLite ledger connection gets on open (<c>SqlitePragmaInterceptor</c>).</summary>
public sealed class SqlitePragmaTests(SqliteLedgerFixture fixture) : IClassFixture<SqliteLedgerFixture>
{
    [Fact]
    public async Task LedgerConnections_KeepStatementJournalsInMemory()
    {
        // Every ledger write is a savepoint in its group's transaction: with temporary files (temp_store 0, the
        // default) SQLite wrote each page a savepoint touched to a statement-journal file, two pwrite calls per page,
        // more than the WAL itself got (issue #13).
        await using var db = new LedgerDbContext(fixture.Options);
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA temp_store";

        var tempStore = Convert.ToInt64(await command.ExecuteScalarAsync());

        Assert.True(tempStore == 2, $"temp_store is {tempStore}, expected 2 (MEMORY): statement journals go to temporary files");
    }

    [Fact]
    public async Task LedgerConnections_LeaveCheckpointsToTheCheckpointer_WithSQLitesOwnAsASafetyNet()
    {
        // SQLite's automatic checkpoint (every 1,000 pages by default) runs inside the COMMIT that crosses it, fsyncs
        // included: the p99 of a lone metered call (issue #13). The background checkpointer copies the WAL instead.
        await using var db = new LedgerDbContext(fixture.Options);
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA wal_autocheckpoint";

        var pages = Convert.ToInt64(await command.ExecuteScalarAsync());

        Assert.True(pages == SqlitePragmaInterceptor.AutoCheckpointPages,
            $"wal_autocheckpoint is {pages}, expected {SqlitePragmaInterceptor.AutoCheckpointPages}: commits checkpoint by themselves");
    }
}

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
}

using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Storage;

/// <summary>
/// The ledger's group commits checkpoint after their members are answered, not inside COMMIT (<see cref="SqliteWalHook"/>
/// replaces SQLite's automatic checkpoint on those connections). The WAL must stay bounded all the same, and a
/// connection handed back to Microsoft.Data.Sqlite's pool must checkpoint on its own again.
/// </summary>
public sealed class SqliteCheckpointAfterCommitTests
{
    private const int Commits = 3_000;

    // Without checkpoints these commits leave ≈ 9,000 frames (≈ 3 per commit); with them the WAL restarts after each
    // complete checkpoint and stays near the limit — up to a few limits when a restart has to wait for a reader.
    private const int Bound = 3 * SqliteWriteGroup.BusyCheckpointPages;

    [Fact]
    public async Task GroupCommits_KeepTheWalBounded_AndPooledConnectionsCheckpointAgainAfterTheWriterIsGone()
    {
        // A fresh database: a WAL file keeps the largest size it ever reached.
        var fixture = new SqliteLedgerFixture();
        await fixture.InitializeAsync();
        try
        {
            await using (var setup = new LedgerDbContext(fixture.Options))
            {
                await setup.Database.OpenConnectionAsync();
                await using var create = setup.Database.GetDbConnection().CreateCommand();
                create.CommandText = "CREATE TABLE wal_fill (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)";
                await create.ExecuteNonQueryAsync();
            }
            string connectionString;
            await using (var probe = new LedgerDbContext(fixture.Options)) connectionString = probe.Database.GetConnectionString()!;
            var wal = new SqliteConnectionStringBuilder(connectionString).DataSource + "-wal";
            // SQLite deletes the WAL when the database's last connection closes (other tests clear the connection
            // pools at any time): one connection outside the pool stays open throughout.
            await using var holder = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
            await holder.OpenAsync();
            await using (var touch = holder.CreateCommand())
            {
                // SQLite opens the database file and the WAL index lazily: a first read makes this connection count.
                touch.CommandText = "SELECT count(*) FROM sqlite_master";
                await touch.ExecuteScalarAsync();
            }
            var payload = new byte[3_000];

            // Ordinary ledger operations (each its own group, committed by the queued committer): ≥ 1 new page each,
            // several thousand WAL frames in all without a checkpoint.
            var writer = new DatabaseWriter(fixture.Factory, groupCommitMaxOperations: 64);
            for (var i = 0; i < Commits; i++)
            {
                await writer.InTransactionAsync(s => s.ExecuteAsync("INSERT INTO wal_fill (payload) VALUES (@p)", ("@p", payload)));
            }
            var checkpoints = writer.CheckpointsAfterCommit;
            await writer.DisposeAsync();
            var frames = WalFrames(wal);
            Assert.True(checkpoints > 0, "no checkpoint ran after a group commit");
            Assert.True(frames < Bound,
                $"the WAL grew to {frames} frames over {Commits} group commits ({checkpoints} checkpoints after a commit): checkpoints ran at a larger WAL than {SqliteWriteGroup.BusyCheckpointPages} pages");

            // The writer's native connections went back to Microsoft.Data.Sqlite's pool: whoever gets them next must
            // get SQLite's automatic checkpoint back (and no hook pointing at the writer's freed state).
            for (var round = 0; round < 4; round++)
            {
                await using var plain = new SqliteConnection(connectionString);
                await plain.OpenAsync();
                await using var insert = plain.CreateCommand();
                insert.CommandText = "INSERT INTO wal_fill (payload) VALUES (@p)";
                insert.Parameters.AddWithValue("@p", payload);
                for (var i = 0; i < Commits / 4; i++) await insert.ExecuteNonQueryAsync();
            }
            frames = WalFrames(wal);
            Assert.True(frames < Bound,
                $"the WAL grew to {frames} frames over {Commits} commits on pooled connections: they no longer checkpoint");
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    private static long WalFrames(string wal) => (new FileInfo(wal).Length - 32) / (4096 + 24);
}

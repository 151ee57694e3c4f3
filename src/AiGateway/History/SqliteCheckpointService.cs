using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>
/// SQLite: every <see cref="HistoryOptions.SqliteCheckpointInterval"/> copies the WAL into the database and truncates
/// it (<c>wal_checkpoint(TRUNCATE)</c>), in turn with the ledger's writers. SQLite's own automatic checkpoints are
/// passive: under a steady stream of commits they may never find a moment when every reader has moved on, and the WAL
/// then only grows. The truncating checkpoint waits at most <see cref="BusyWaitMs"/> for readers, then gives up until
/// the next tick (it blocks writers while it waits, so it must not wait long).
/// </summary>
public sealed class SqliteCheckpointService(
    IDbContextFactory<LedgerDbContext> dbFactory, DatabaseWriter writer, IOptions<HistoryOptions> options, ILogger<SqliteCheckpointService> logger)
    : BackgroundService
{
    /// <summary>The longest a checkpoint waits for readers to leave older snapshots.</summary>
    public const int BusyWaitMs = 100;

    /// <summary>The result of one checkpoint: whether it was blocked, and the WAL's frames and those copied.</summary>
    public readonly record struct Checkpoint(bool Busy, long LogFrames, long CheckpointedFrames);

    /// <summary>Runs one truncating checkpoint; null on PostgreSQL.</summary>
    public async Task<Checkpoint?> CheckpointAsync(CancellationToken ct)
    {
        Checkpoint? result = null;
        await writer.WriteAsync(async db =>
        {
            if (!db.Database.IsSqlite()) return;
            await db.Database.OpenConnectionAsync(ct);
            var connection = (SqliteConnection)db.Database.GetDbConnection();
            // Two commands: in one, the reader's first row would be busy_timeout's answer, not the checkpoint's.
            // The shorter wait lasts only while this connection is out: every open resets it (SqlitePragmaInterceptor).
            await using (var wait = connection.CreateCommand())
            {
                wait.CommandText = $"PRAGMA busy_timeout={BusyWaitMs};";
                await wait.ExecuteNonQueryAsync(ct);
            }
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct)) result = new Checkpoint(reader.GetInt64(0) != 0, reader.GetInt64(1), reader.GetInt64(2));
        });
        return result;
    }

    /// <summary>Checkpoints on every tick until the host stops (SQLite only).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SqliteCheckpointInterval;
        if (interval <= TimeSpan.Zero) return;
        await using (var db = await dbFactory.CreateDbContextAsync(stoppingToken))
        {
            if (!db.Database.IsSqlite()) return;
        }
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var checkpoint = await CheckpointAsync(stoppingToken);
                if (checkpoint is { Busy: true }) logger.LogDebug("WAL checkpoint found readers on older snapshots; retried next tick");
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "WAL checkpoint failed");
            }
        }
    }
}

using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AiGateway.Storage;

/// <summary>
/// Sets every SQLite connection the gateway opens to <c>synchronous=NORMAL</c> (in WAL mode a commit then survives a
/// process crash without an fsync per commit) and to SQLite's own <c>busy_timeout</c> (short native waits on a locked
/// database, instead of Microsoft.Data.Sqlite's 150 ms sleeps between retries), bounded by the connection's timeout,
/// and to <c>journal_size_limit</c> <see cref="JournalSizeLimit"/>: without it a WAL that once grew (under load, or
/// behind a long reader) keeps its size on disk forever, because SQLite reuses the file from the start instead of
/// shrinking it. And to <c>temp_store=MEMORY</c>: every ledger write is a savepoint inside its group's transaction
/// (<see cref="SqliteWriteGroup"/>), so SQLite copies each page a savepoint first touches into a statement journal,
/// which spilled to a temporary file past 64 KiB — measured (issue #13, metered SQLite gateway, strace): two
/// <c>pwrite</c> calls per page, more than the WAL itself got (6,108 + 919 pages vs 2,567 WAL frames in 3 s). Kept in
/// memory it costs no system call; it lives only until its transaction ends.
/// </summary>
internal sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    /// <summary>The size in bytes a WAL file is truncated back to when a checkpoint has emptied it.</summary>
    public const long JournalSizeLimit = 64L * 1024 * 1024;

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection sqlite) return;
        var timeoutMs = new SqliteConnectionStringBuilder(sqlite.ConnectionString).DefaultTimeout * 1000;
        using var pragma = sqlite.CreateCommand();
        pragma.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={timeoutMs}; PRAGMA journal_size_limit={JournalSizeLimit}; PRAGMA temp_store=MEMORY;";
        pragma.ExecuteNonQuery();
    }
}

using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AiGateway.Ledger;

/// <summary>
/// Sets every SQLite connection the gateway opens to <c>synchronous=NORMAL</c> (in WAL mode a commit then survives a
/// process crash without an fsync per commit) and to SQLite's own <c>busy_timeout</c> (short native waits on a locked
/// database, instead of Microsoft.Data.Sqlite's 150 ms sleeps between retries), bounded by the connection's timeout.
/// </summary>
internal sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
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
        pragma.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={timeoutMs};";
        pragma.ExecuteNonQuery();
    }
}

using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Storage;

/// <summary>
/// Keeps a few open SQLite DbContext connections with their prepared commands, because preparing every
/// statement again on each reserve/settle costs more than running it. PostgreSQL gets a fresh DbContext per
/// transaction: Npgsql already pools its connections (which count against the server's max_connections,
/// so holding them idle here would starve other instances), and it can auto-prepare statements itself.
/// </summary>
internal sealed class LedgerConnectionPool(IDbContextFactory<LedgerDbContext> factory, int maxIdle) : IAsyncDisposable
{
    private readonly ConcurrentBag<LedgerConnection> _idle = [];
    private volatile bool _disposed;

    /// <summary>An idle SQLite connection, or a newly opened one.</summary>
    public async Task<LedgerConnection> RentAsync(CancellationToken cancellationToken)
    {
        if (_idle.TryTake(out var pooled)) return pooled;
        var db = await factory.CreateDbContextAsync(cancellationToken);
        try
        {
            // Opening through EF applies its connection set-up (e.g. SQLite foreign keys).
            await db.Database.OpenConnectionAsync(cancellationToken);
            var connection = db.Database.GetDbConnection();
            // SQLite connections get synchronous=NORMAL and busy_timeout from SqlitePragmaInterceptor on open.
            return new LedgerConnection(db, connection, isPostgres: connection is not SqliteConnection);
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>Keeps a healthy SQLite connection for reuse; closes everything else.</summary>
    public async ValueTask ReturnAsync(LedgerConnection connection, bool healthy)
    {
        if (healthy && !connection.IsPostgres && !_disposed && _idle.Count < maxIdle)
        {
            _idle.Add(connection);
            return;
        }
        await connection.DisposeAsync();
    }

    /// <summary>Closes the idle connections.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryTake(out var connection)) await connection.DisposeAsync();
    }
}

/// <summary>An open DbContext connection with the commands prepared on it, keyed by SQL text.</summary>
internal sealed class LedgerConnection(LedgerDbContext db, DbConnection connection, bool isPostgres) : IAsyncDisposable
{
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqliteRawCommand> _rawCommands = new(StringComparer.Ordinal);

    /// <summary>The open connection.</summary>
    public DbConnection Connection => connection;

    /// <summary>True on PostgreSQL.</summary>
    public bool IsPostgres => isPostgres;

    private SqliteWalHook.Hooked? _walHook;

    /// <summary>
    /// SQLite: the WAL commit hook of this connection, installed on first use (<see cref="SqliteWalHook"/>): from then
    /// on its commits do not checkpoint themselves. Null on PostgreSQL.
    /// </summary>
    public SqliteWalHook.Hooked? WalHook() =>
        _walHook ??= connection is SqliteConnection sqlite ? SqliteWalHook.Install(sqlite) : null;

    /// <summary>The command for this SQL on this connection (reused, so SQLite keeps it prepared), with parameters set.</summary>
    public DbCommand Command(string sql, DbTransaction? transaction, (string Name, object? Value)[] parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, _) in parameters)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                command.Parameters.Add(parameter);
            }
            // PostgreSQL connections are not reused by this pool, so caching their commands would only leak.
            if (!isPostgres) _commands[sql] = command;
        }
        command.Transaction = transaction;
        for (var i = 0; i < parameters.Length; i++) command.Parameters[i].Value = parameters[i].Value ?? DBNull.Value;
        return command;
    }

    /// <summary>Runs a statement without parameters (BEGIN, COMMIT, SAVEPOINT …) through its cached command.</summary>
    public Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken = default) =>
        Command(sql, null, []).ExecuteNonQueryAsync(cancellationToken);

    /// <summary>SQLite: the SQL prepared as raw statements with positional binding (see <see cref="SqliteRawCommand"/>); null on PostgreSQL.</summary>
    public SqliteRawCommand? Raw(string sql, (string Name, object? Value)[] parameters)
    {
        if (connection is not SqliteConnection sqlite) return null;
        if (!_rawCommands.TryGetValue(sql, out var command))
        {
            command = SqliteRawCommand.Prepare(sqlite.Handle!, sql, parameters);
            _rawCommands[sql] = command;
        }
        return command;
    }

    /// <summary>Whether commands are cached (the caller must not dispose them).</summary>
    public bool CachesCommands => !isPostgres;

    /// <summary>Disposes the commands, closes the connection and disposes the DbContext.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var command in _commands.Values) await command.DisposeAsync();
        _commands.Clear();
        foreach (var command in _rawCommands.Values) command.Dispose();
        _rawCommands.Clear();
        if (_walHook is not null)
        {
            // Microsoft.Data.Sqlite pools the native connection: give it back with SQLite's own automatic checkpoint
            // (which replaces this hook) so no later user calls the hook after its handle is freed.
            try
            {
                using var restore = connection.CreateCommand();
                restore.CommandText = $"PRAGMA wal_autocheckpoint={SqliteWriteGroup.BusyCheckpointPages}";
                restore.ExecuteNonQuery();
            }
            catch (Exception)
            {
                // A broken connection: clear the pool so the native handle is not reused with the hook.
                if (connection is SqliteConnection sqlite) SqliteConnection.ClearPool(sqlite);
            }
        }
        await db.Database.CloseConnectionAsync();
        await db.DisposeAsync();
        // Closed: SQLite calls the hook no more.
        _walHook?.Dispose();
    }
}

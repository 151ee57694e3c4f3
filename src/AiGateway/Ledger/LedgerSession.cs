using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace AiGateway.Ledger;

/// <summary>
/// One write transaction on the ledger through a DbContext's connection, with parameterized raw SQL:
/// EF change tracking per operation is too slow for the reserve/settle hot path.
/// SQLite: <c>BEGIN IMMEDIATE</c> takes the database write lock up front, so a read-check-write cannot interleave.
/// PostgreSQL: READ COMMITTED plus <c>SELECT ... FOR UPDATE</c> on the account's <c>ledger_accounts</c> row
/// serializes that account's movements across all gateway instances.
/// </summary>
internal sealed class LedgerSession : IAsyncDisposable
{
    private readonly LedgerConnectionPool _pool;
    private readonly LedgerConnection _connection;
    // Null on SQLite: there the transaction is driven by cached BEGIN IMMEDIATE/COMMIT commands (see BeginAsync).
    private readonly DbTransaction? _transaction;
    private readonly SemaphoreSlim? _gate;
    // Set when this session is one operation of a SQLite group commit (a savepoint in the group's transaction).
    private readonly SqliteWriteGroup? _group;
    private readonly List<DbCommand> _ownedCommands = [];
    private bool _completed;
    private bool _leftGroup;
    private List<Action>? _afterCommit;

    /// <summary>Runs <paramref name="action"/> once the transaction is committed (e.g. waking the webhook dispatcher); never on rollback.</summary>
    public void AfterCommit(Action action) => (_afterCommit ??= []).Add(action);

    private void RunAfterCommit()
    {
        if (_afterCommit is null) return;
        foreach (var action in _afterCommit) action();
    }

    private LedgerSession(LedgerConnectionPool pool, LedgerConnection connection, DbTransaction? transaction, SemaphoreSlim? gate,
        SqliteWriteGroup? group = null)
    {
        _pool = pool;
        _connection = connection;
        _transaction = transaction;
        _gate = gate;
        _group = group;
    }

    /// <summary>Joins the SQLite group commit: the operation runs in a savepoint of the group's transaction (see <see cref="SqliteWriteGroup"/>).</summary>
    public static async Task<LedgerSession> BeginAsync(LedgerConnectionPool pool, SqliteWriteGroup group, CancellationToken cancellationToken)
    {
        var connection = await group.JoinAsync(cancellationToken);
        return new LedgerSession(pool, connection, null, null, group);
    }

    /// <summary>True on PostgreSQL, false on SQLite.</summary>
    public bool IsPostgres => _connection.IsPostgres;

    /// <summary>Rents a connection and begins the write transaction; <paramref name="sqliteGate"/> queues this process's SQLite writers.</summary>
    public static async Task<LedgerSession> BeginAsync(LedgerConnectionPool pool, SemaphoreSlim? sqliteGate, CancellationToken cancellationToken)
    {
        // Queue on the gate before renting: waiting writers then hold no connection (1,000 settles at once would
        // otherwise open 1,000 SQLite connections, each with its own cache).
        var gateTaken = false;
        if (sqliteGate is not null)
        {
            await sqliteGate.WaitAsync(cancellationToken);
            gateTaken = true;
        }
        LedgerConnection connection;
        try
        {
            connection = await pool.RentAsync(cancellationToken);
        }
        catch
        {
            if (gateTaken) sqliteGate!.Release();
            throw;
        }
        try
        {
            if (connection.Connection is SqliteConnection sqlite)
            {
                // BEGIN IMMEDIATE takes the write lock now (waiting on SQLITE_BUSY up to the command timeout).
                // Issued as a reused, prepared command rather than SqliteTransaction, which prepares it anew each time.
                await connection.ExecuteAsync("BEGIN IMMEDIATE", cancellationToken);
                return new LedgerSession(pool, connection, null, gateTaken ? sqliteGate : null);
            }
            var pgTx = await connection.Connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            return new LedgerSession(pool, connection, pgTx, null);
        }
        catch
        {
            if (gateTaken) sqliteGate!.Release();
            await pool.ReturnAsync(connection, healthy: false);
            throw;
        }
    }

    /// <summary>A Guid as this provider stores it (EF Core stores Guids as upper-case TEXT on SQLite).</summary>
    public object Id(Guid id) => IsPostgres ? id : id.ToString().ToUpperInvariant();

    /// <summary>Reads a Guid column written by EF Core.</summary>
    public static Guid ReadGuid(DbDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(Guid) ? reader.GetGuid(ordinal) : Guid.Parse(reader.GetString(ordinal));

    /// <summary>Executes a statement and returns the affected row count.</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        if (_connection.Raw(sql, parameters) is { } raw) return raw.ExecuteNonQuery(parameters);
        var command = _connection.Command(sql, _transaction, parameters);
        try
        {
            return await command.ExecuteNonQueryAsync();
        }
        finally
        {
            if (!_connection.CachesCommands) await command.DisposeAsync();
        }
    }

    /// <summary>Executes a query and returns the first column of the first row as a long, or null.</summary>
    public async Task<long?> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        if (_connection.Raw(sql, parameters) is { } raw)
        {
            using var reader = raw.ExecuteReader(parameters);
            return reader.Read() && !reader.IsDBNull(0) ? Convert.ToInt64(reader.GetValue(0)) : null;
        }
        var command = _connection.Command(sql, _transaction, parameters);
        try
        {
            var value = await command.ExecuteScalarAsync();
            return value is null or DBNull ? null : Convert.ToInt64(value);
        }
        finally
        {
            if (!_connection.CachesCommands) await command.DisposeAsync();
        }
    }

    /// <summary>
    /// Runs several statements in one command (one round trip on PostgreSQL), returns the first column of the
    /// first row of the first result set, and drains the rest so every statement has run.
    /// </summary>
    public async Task<long?> BatchAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        long? first = null;
        await using var reader = await ReaderAsync(sql, parameters);
        do
        {
            while (await reader.ReadAsync())
            {
                if (first is null && reader.FieldCount > 0 && !reader.IsDBNull(0)) first = Convert.ToInt64(reader.GetValue(0));
            }
        }
        while (await reader.NextResultAsync());
        return first;
    }

    /// <summary>Executes a query and returns its reader (dispose it before the next command).</summary>
    public async Task<DbDataReader> ReaderAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        if (_connection.Raw(sql, parameters) is { } raw) return raw.ExecuteReader(parameters);
        var command = _connection.Command(sql, _transaction, parameters);
        if (!_connection.CachesCommands) _ownedCommands.Add(command); // disposed with the session
        return await command.ExecuteReaderAsync();
    }

    /// <summary>Commits the transaction.</summary>
    public async Task CommitAsync()
    {
        if (_group is not null)
        {
            // Keep this operation's savepoint, free the gate, and return once the group's commit is durable.
            _completed = true;
            _leftGroup = true;
            var committed = await _group.LeaveAsync(keep: true);
            await committed;
            RunAfterCommit();
            return;
        }
        if (_transaction is not null) await _transaction.CommitAsync();
        else await _connection.ExecuteAsync("COMMIT");
        _completed = true;
        RunAfterCommit();
    }

    /// <summary>Rolls back unless committed, returns the connection and frees the in-process gate.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_group is not null)
        {
            // Not committed (an early return or an exception): undo this operation's savepoint only.
            if (!_leftGroup)
            {
                _leftGroup = true;
                await _group.LeaveAsync(keep: false);
            }
            return;
        }
        var healthy = true;
        try
        {
            if (!_completed && _transaction is not null) await _transaction.RollbackAsync();
            else if (!_completed) await _connection.ExecuteAsync("ROLLBACK");
        }
        catch (Exception)
        {
            // The connection may be broken; it is discarded below instead of being reused.
            healthy = false;
        }
        finally
        {
            foreach (var command in _ownedCommands) await command.DisposeAsync();
            if (_transaction is not null) await _transaction.DisposeAsync();
            _gate?.Release();
            await _pool.ReturnAsync(_connection, healthy);
        }
    }
}

using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace AiGateway.Storage;

/// <summary>
/// One write transaction on the ledger through a DbContext's connection, with parameterized raw SQL:
/// EF change tracking per operation is too slow for the reserve/settle hot path.
/// SQLite: the operation is a savepoint in the write group's transaction, which <c>BEGIN IMMEDIATE</c> opened with the
/// database write lock taken up front, so a read-check-write cannot interleave (see <see cref="SqliteWriteGroup"/>).
/// PostgreSQL: READ COMMITTED plus <c>SELECT ... FOR UPDATE</c> on the account's <c>ledger_accounts</c> row
/// serializes that account's movements across all gateway instances.
/// </summary>
internal sealed class LedgerSession : IAsyncDisposable
{
    private readonly LedgerConnectionPool _pool;
    private readonly LedgerConnection _connection;
    // PostgreSQL's transaction; null on SQLite, where the group's connection is inside BEGIN IMMEDIATE and this
    // operation is a savepoint in it (see SqliteWriteGroup).
    private readonly DbTransaction? _transaction;
    // Set when this session is one operation of a SQLite group commit (a savepoint in the group's transaction).
    private readonly SqliteWriteGroup? _group;
    private readonly List<DbCommand> _ownedCommands = [];
    private readonly List<DbBatch> _ownedBatches = [];
    private bool _completed;
    private bool _leftGroup;
    // SQLite: commit the group as soon as this operation ends (see DatabaseWriter.CommitEachAtOnce).
    private bool _commitNow;
    private int _checkpointPages;
    private readonly long _startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    // PostgreSQL: the writer's count of round trips to the server (see DatabaseWriter.RoundTrips); null on SQLite.
    private readonly StrongBox<long>? _roundTrips;
    private List<Action>? _afterCommit;
    // PostgreSQL: the next batch carries the COMMIT (see CommitWithNextBatch); then the reader that carries it, until
    // CommitAsync has seen it to its end.
    private bool _commitWithNextBatch;
    private DbDataReader? _commitReader;
    private bool _commitSent;

    /// <summary>Runs <paramref name="action"/> once the transaction is committed (e.g. waking the webhook dispatcher); never on rollback.</summary>
    public void AfterCommit(Action action) => (_afterCommit ??= []).Add(action);

    private void RunAfterCommit()
    {
        if (_afterCommit is null) return;
        foreach (var action in _afterCommit) action();
    }

    private LedgerSession(
        LedgerConnectionPool pool, LedgerConnection connection, DbTransaction? transaction, SqliteWriteGroup? group = null,
        StrongBox<long>? roundTrips = null)
    {
        _pool = pool;
        _connection = connection;
        _transaction = transaction;
        _group = group;
        _roundTrips = roundTrips;
    }

    /// <summary>Counts one round trip to the server (PostgreSQL; BEGIN rides on the first statement, so it costs none).</summary>
    private void RoundTrip()
    {
        if (_roundTrips is not null) Interlocked.Increment(ref _roundTrips.Value);
    }

    /// <summary>
    /// Joins the SQLite group commit: the operation runs in a savepoint of the group's transaction (see
    /// <see cref="SqliteWriteGroup"/>); with <paramref name="commitNow"/> its commit does not wait for others to join.
    /// </summary>
    /// <paramref name="checkpointPages"/> (0: unchanged) sets the WAL size at which the group's commit checkpoints
    /// (<see cref="SqliteWriteGroup.LeaveAsync"/>).
    public static async Task<LedgerSession> BeginAsync(
        LedgerConnectionPool pool, SqliteWriteGroup group, bool commitNow, CancellationToken cancellationToken, int checkpointPages = 0)
    {
        var connection = await group.JoinAsync(cancellationToken, commitNow);
        return new LedgerSession(pool, connection, null, group) { _commitNow = commitNow, _checkpointPages = checkpointPages };
    }

    /// <summary>True on PostgreSQL, false on SQLite.</summary>
    public bool IsPostgres => _connection.IsPostgres;

    /// <summary>
    /// PostgreSQL: rents a connection and begins a READ COMMITTED write transaction (SQLite joins the group commit instead);
    /// every statement, batch, commit and rollback sent adds one to <paramref name="roundTrips"/>.
    /// </summary>
    public static async Task<LedgerSession> BeginAsync(LedgerConnectionPool pool, StrongBox<long> roundTrips, CancellationToken cancellationToken)
    {
        var connection = await pool.RentAsync(cancellationToken);
        try
        {
            if (!connection.IsPostgres) throw new InvalidOperationException("SQLite ledger writes run in the write group (SqliteWriteGroup).");
            var transaction = await connection.Connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            return new LedgerSession(pool, connection, transaction, roundTrips: roundTrips);
        }
        catch
        {
            await pool.ReturnAsync(connection, healthy: false);
            throw;
        }
    }

    /// <summary>A Guid as this provider stores it: <c>uuid</c> on PostgreSQL, a 16-byte BLOB on SQLite (see <see cref="SqliteGuid"/>).</summary>
    public object Id(Guid id) => SqliteGuid.Parameter(IsPostgres, id);

    /// <summary>Reads a Guid column on either provider (see <see cref="SqliteGuid.Read"/>).</summary>
    public static Guid ReadGuid(DbDataReader reader, int ordinal) => SqliteGuid.Read(reader, ordinal);

    /// <summary>Executes a statement and returns the affected row count.</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        EnsureNotCommitted();
        if (_connection.Raw(sql, parameters) is { } raw) return raw.ExecuteNonQuery(parameters);
        var command = _connection.Command(sql, _transaction, parameters);
        RoundTrip();
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
        EnsureNotCommitted();
        if (_connection.Raw(sql, parameters) is { } raw)
        {
            using var reader = raw.ExecuteReader(parameters);
            return reader.Read() && !reader.IsDBNull(0) ? Convert.ToInt64(reader.GetValue(0)) : null;
        }
        var command = _connection.Command(sql, _transaction, parameters);
        RoundTrip();
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
        EnsureNotCommitted();
        if (_connection.Raw(sql, parameters) is { } raw) return raw.ExecuteReader(parameters);
        var commit = TakeCommit();
        var command = _connection.Command(commit ? sql + ";\nCOMMIT" : sql, _transaction, parameters);
        if (!_connection.CachesCommands) _ownedCommands.Add(command); // disposed with the session
        RoundTrip();
        var reader = await command.ExecuteReaderAsync();
        if (commit) _commitReader = reader;
        return reader;
    }

    /// <summary>
    /// PostgreSQL: the next <see cref="BatchAsync"/>, <see cref="ReaderAsync"/> or <see cref="BatchReaderAsync"/> ends with the
    /// transaction's COMMIT, so the commit costs no round trip of its own and the rows locked are held one round trip less.
    /// Call it just before the transaction's last statements and then <see cref="CommitAsync"/> as usual (it reads that
    /// batch to its end, so a failing statement or COMMIT surfaces there, and sends nothing). Any statement after that batch
    /// would run outside the transaction, so it throws instead. A statement that fails before the COMMIT leaves the
    /// transaction aborted, and disposing the session rolls it back, as without this. SQLite: no effect (the write
    /// group commits; see <see cref="SqliteWriteGroup"/>).
    /// </summary>
    public void CommitWithNextBatch()
    {
        if (_group is null && IsPostgres) _commitWithNextBatch = true;
    }

    private bool TakeCommit()
    {
        if (!_commitWithNextBatch) return false;
        _commitWithNextBatch = false;
        _commitSent = true;
        return true;
    }

    private void EnsureNotCommitted()
    {
        if (_commitSent) throw new InvalidOperationException("This ledger transaction's COMMIT was sent with its last batch; nothing more may run in it.");
    }

    /// <summary>
    /// PostgreSQL: sends the statements as one batch (one round trip), each with its own parameters, and returns the
    /// reader over their result sets in order (dispose it before the next command). A failing statement fails the batch.
    /// </summary>
    public async Task<DbDataReader> BatchReaderAsync(IReadOnlyList<(string Sql, (string Name, object? Value)[] Parameters)> statements)
    {
        if (!IsPostgres) throw new InvalidOperationException("Statement batches are for PostgreSQL (SQLite runs in process: no round trips to save).");
        EnsureNotCommitted();
        var commit = TakeCommit();
        var batch = _connection.Connection.CreateBatch();
        _ownedBatches.Add(batch); // disposed with the session
        batch.Transaction = _transaction;
        foreach (var (sql, parameters) in statements)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value ?? DBNull.Value;
                command.Parameters.Add(parameter);
            }
            batch.BatchCommands.Add(command);
        }
        if (commit)
        {
            var end = batch.CreateBatchCommand();
            end.CommandText = "COMMIT";
            batch.BatchCommands.Add(end);
        }
        RoundTrip();
        var reader = await batch.ExecuteReaderAsync();
        if (commit) _commitReader = reader;
        return reader;
    }

    /// <summary>Commits the transaction.</summary>
    public async Task CommitAsync()
    {
        if (_group is not null)
        {
            // Keep this operation's savepoint, free the gate, and return once the group's commit is durable.
            _completed = true;
            _leftGroup = true;
            var committed = await _group.LeaveAsync(keep: true, _commitNow, _checkpointPages);
            await committed;
            RunAfterCommit();
            return;
        }
        if (_commitSent)
        {
            // The COMMIT went with the last batch: read that batch to its end (its caller may have stopped early), so a
            // statement or COMMIT that failed throws here; disposing a reader reads the rest and throws the same way.
            if (_commitReader is { IsClosed: false } reader)
            {
                while (await reader.NextResultAsync()) { }
                await reader.DisposeAsync();
            }
            _commitReader = null;
        }
        else
        {
            RoundTrip();
            await _transaction!.CommitAsync();
        }
        _completed = true;
        RunAfterCommit();
    }

    /// <summary>Rolls back unless committed (SQLite: this operation's savepoint) and returns the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        Telemetry.GatewayMetrics.LedgerOperationEnded(_startedAt, _completed);
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
            if (!_completed)
            {
                RoundTrip();
                await _transaction!.RollbackAsync();
            }
        }
        catch (Exception)
        {
            // The connection may be broken; it is discarded below instead of being reused.
            healthy = false;
        }
        finally
        {
            foreach (var command in _ownedCommands) await command.DisposeAsync();
            foreach (var batch in _ownedBatches) await batch.DisposeAsync();
            await _transaction!.DisposeAsync();
            await _pool.ReturnAsync(_connection, healthy);
        }
    }
}

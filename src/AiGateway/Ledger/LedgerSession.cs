using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Ledger;

/// <summary>
/// One write transaction on the ledger through the DbContext's connection, with parameterized raw SQL:
/// EF change tracking per operation is too slow for the reserve/settle hot path.
/// SQLite: <c>BEGIN IMMEDIATE</c> takes the database write lock up front, so a read-check-write cannot interleave.
/// PostgreSQL: READ COMMITTED plus <c>SELECT ... FOR UPDATE</c> on the account's <c>ledger_accounts</c> row
/// serializes that account's movements across all gateway instances.
/// </summary>
internal sealed class LedgerSession : IAsyncDisposable
{
    private readonly LedgerDbContext _db;
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly SemaphoreSlim? _gate;
    private bool _completed;

    private LedgerSession(LedgerDbContext db, DbConnection connection, DbTransaction transaction, bool isPostgres, SemaphoreSlim? gate)
    {
        _db = db;
        _connection = connection;
        _transaction = transaction;
        IsPostgres = isPostgres;
        _gate = gate;
    }

    /// <summary>True on PostgreSQL, false on SQLite.</summary>
    public bool IsPostgres { get; }

    /// <summary>Opens a connection and begins the write transaction; <paramref name="sqliteGate"/> queues this process's SQLite writers.</summary>
    public static async Task<LedgerSession> BeginAsync(
        IDbContextFactory<LedgerDbContext> factory, SemaphoreSlim? sqliteGate, CancellationToken cancellationToken)
    {
        var db = await factory.CreateDbContextAsync(cancellationToken);
        var gateTaken = false;
        try
        {
            // Opening through EF applies its connection set-up (e.g. SQLite foreign keys).
            await db.Database.OpenConnectionAsync(cancellationToken);
            var connection = db.Database.GetDbConnection();
            if (connection is SqliteConnection sqlite)
            {
                if (sqliteGate is not null)
                {
                    await sqliteGate.WaitAsync(cancellationToken);
                    gateTaken = true;
                }
                // NORMAL in WAL mode fsyncs only at checkpoints: a committed transaction survives a process crash
                // (the WAL is in the OS page cache); only an OS crash or power loss can lose the last commits.
                using (var pragma = sqlite.CreateCommand())
                {
                    pragma.CommandText = "PRAGMA synchronous=NORMAL;";
                    pragma.ExecuteNonQuery();
                }
                var tx = sqlite.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
                return new LedgerSession(db, connection, tx, isPostgres: false, gateTaken ? sqliteGate : null);
            }
            var pgTx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            return new LedgerSession(db, connection, pgTx, isPostgres: true, null);
        }
        catch
        {
            if (gateTaken) sqliteGate!.Release();
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>A Guid as this provider stores it (EF Core stores Guids as upper-case TEXT on SQLite).</summary>
    public object Id(Guid id) => IsPostgres ? id : id.ToString().ToUpperInvariant();

    /// <summary>Reads a Guid column written by EF Core.</summary>
    public static Guid ReadGuid(DbDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(Guid) ? reader.GetGuid(ordinal) : Guid.Parse(reader.GetString(ordinal));

    /// <summary>Creates a command in this transaction with the given parameters.</summary>
    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    /// <summary>Executes a statement and returns the affected row count.</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Executes a query and returns the first column of the first row as a long, or null.</summary>
    public async Task<long?> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? null : Convert.ToInt64(value);
    }

    /// <summary>Executes a query and returns its reader.</summary>
    public async Task<DbDataReader> ReaderAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql, parameters);
        return await command.ExecuteReaderAsync(CommandBehavior.Default);
    }

    /// <summary>Commits the transaction.</summary>
    public async Task CommitAsync()
    {
        await _transaction.CommitAsync();
        _completed = true;
    }

    /// <summary>Rolls back unless committed, closes the connection and frees the in-process gate.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_completed) await _transaction.RollbackAsync();
        }
        catch (Exception) when (!_completed)
        {
            // The connection may already be broken; disposing it below discards the transaction anyway.
        }
        finally
        {
            await _transaction.DisposeAsync();
            await _db.Database.CloseConnectionAsync();
            await _db.DisposeAsync();
            _gate?.Release();
        }
    }
}

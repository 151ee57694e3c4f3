using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AiGateway.Tests.Ledger;

/// <summary>A fresh ledger database for one test class; the subclasses pick SQLite or PostgreSQL.</summary>
public abstract class LedgerDatabaseFixture : IAsyncLifetime
{
    /// <summary>The plans the ledger tests use (mirrors config/plans.json in spirit, small numbers).</summary>
    public static PlansOptions TestPlans()
    {
        var plans = new PlansOptions
        {
            ["free"] = new PlanDefinition { MonthlyCredits = 10, OveragePolicy = OveragePolicies.Clamp },
            ["daily"] = new PlanDefinition { DailyCredits = 100, OveragePolicy = OveragePolicies.Clamp },
            ["plus"] = new PlanDefinition { MonthlyCredits = 700 },
            ["pro"] = new PlanDefinition { MonthlyCredits = 1300 },
            ["combo"] = new PlanDefinition { MonthlyCredits = 50, DailyCredits = 5 },
        };
        return plans;
    }

    /// <summary>EF options for this database.</summary>
    public DbContextOptions<LedgerDbContext> Options { get; private set; } = null!;

    /// <summary>The provider name as in <c>Ledger:Provider</c>.</summary>
    public abstract string Provider { get; }

    /// <summary>Creates the database and returns its connection string.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    /// <summary>Deletes the database.</summary>
    protected abstract Task DropDatabaseAsync();

    /// <summary>A DbContext factory over this database.</summary>
    public IDbContextFactory<LedgerDbContext> Factory => new TestDbContextFactory(Options);

    public async Task InitializeAsync()
    {
        var connectionString = await CreateDatabaseAsync();
        var builder = new DbContextOptionsBuilder<LedgerDbContext>();
        LedgerStorageExtensions.Configure(builder, Provider, connectionString);
        Options = builder.Options;
        await using var db = new LedgerDbContext(Options);
        if (SeedBefore is { } before) await SeedBeforeAsync(db, before);
        await LedgerDatabase.InitializeAsync(db);
    }

    /// <summary>
    /// For tests of a migration on a populated database: the migration before which <see cref="SeedAsync"/> writes rows
    /// in the schema as it was then (the migrations before it are applied first, the rest after); null: none.
    /// </summary>
    protected virtual string? SeedBefore => null;

    /// <summary>Writes rows in the schema of the migrations before <see cref="SeedBefore"/>.</summary>
    protected virtual Task SeedAsync(System.Data.Common.DbConnection connection) => Task.CompletedTask;

    private async Task SeedBeforeAsync(LedgerDbContext db, string before)
    {
        await db.Database.OpenConnectionAsync();
        var connection = db.Database.GetDbConnection();
        await ExecuteAsync(connection, "CREATE TABLE schema_migrations (id VARCHAR(200) NOT NULL PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)");
        foreach (var (id, sql) in AiGateway.Storage.Migrations.SchemaMigrator.Scripts(Provider).Where(s => string.CompareOrdinal(s.Id, before) < 0))
        {
            await ExecuteAsync(connection, sql);
            await ExecuteAsync(connection, $"INSERT INTO schema_migrations (id, applied_at) VALUES ('{id}', '{DateTimeOffset.UtcNow:O}')");
        }
        await SeedAsync(connection);
        await db.Database.CloseConnectionAsync();
    }

    private static async Task ExecuteAsync(System.Data.Common.DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public Task DisposeAsync() => DropDatabaseAsync();

    /// <summary>A ledger over this database; each call is like a separate gateway instance (own in-process state).</summary>
    public CreditLedger CreateLedger(
        TimeProvider time, Action<LedgerOptions>? configure = null, PlansOptions? plans = null,
        AiGateway.Notifications.NotificationOutbox? notifications = null)
    {
        var options = new LedgerOptions();
        configure?.Invoke(options);
        var monitor = new StaticOptionsMonitor<PlansOptions>(plans ?? TestPlans());
        return new CreditLedger(Factory, Microsoft.Extensions.Options.Options.Create(options), new PlanCatalog(monitor), time, notifications);
    }

    /// <summary>Creates an account (optionally on a plan) and returns its id.</summary>
    public async Task<Guid> CreateAccountAsync(string? plan = null)
    {
        await using var db = new LedgerDbContext(Options);
        var account = new Account { Id = Guid.NewGuid(), Name = "test", CreatedAt = DateTimeOffset.UtcNow, Plan = plan };
        db.Accounts.Add(account);
        await db.SaveChangesAsync();
        return account.Id;
    }

    private sealed class TestDbContextFactory(DbContextOptions<LedgerDbContext> options) : IDbContextFactory<LedgerDbContext>
    {
        public LedgerDbContext CreateDbContext() => new(options);
    }

    private sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;
        public T Get(string? name) => value;
        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}

/// <summary>A SQLite ledger in a temporary file (WAL), deleted afterwards.</summary>
public class SqliteLedgerFixture : LedgerDatabaseFixture
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"aigw-ledger-{Guid.NewGuid():N}.db");

    public override string Provider => "Sqlite";

    protected override Task<string> CreateDatabaseAsync() => Task.FromResult($"Data Source={_path}");

    protected override Task DropDatabaseAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            try { File.Delete(_path + suffix); } catch (IOException) { /* best effort: it is a temp file */ }
        }
        return Task.CompletedTask;
    }
}

/// <summary>
/// A PostgreSQL ledger in a uniquely named database, dropped afterwards. Reads <c>AIGATEWAY_TEST_POSTGRES</c>;
/// an unreachable server makes the tests fail (run tests/scripts/start-postgres.sh), never skip.
/// </summary>
public class PostgresLedgerFixture : LedgerDatabaseFixture
{
    private const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
    private readonly string _database = $"aigw_ledger_test_{Guid.NewGuid():N}";
    private readonly string _server = Environment.GetEnvironmentVariable("AIGATEWAY_TEST_POSTGRES") is { Length: > 0 } s ? s : DefaultServer;

    public override string Provider => "Postgres";

    protected override async Task<string> CreateDatabaseAsync()
    {
        await using var connection = new NpgsqlConnection(_server);
        try
        {
            await connection.OpenAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable at '{new NpgsqlConnectionStringBuilder(_server) { Password = null }}'. " +
                "Run tests/scripts/start-postgres.sh (or set AIGATEWAY_TEST_POSTGRES).", ex);
        }
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", connection);
        await command.ExecuteNonQueryAsync();
        // Several test classes run at once against a server with max_connections = 100: keep each pool small
        // (extra parallel tasks wait for a pooled connection, they still run truly concurrently on 20 sessions).
        return new NpgsqlConnectionStringBuilder(_server) { Database = _database, MaxPoolSize = 20 }.ToString();
    }

    protected override async Task DropDatabaseAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

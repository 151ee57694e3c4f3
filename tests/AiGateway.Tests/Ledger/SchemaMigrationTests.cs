using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Storage.Migrations;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>The checked-in schema migrations: in step with the EF model, applied once, upgrades keep data.</summary>
public sealed class SchemaMigrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aigw-migrations-" + Guid.NewGuid().ToString("N"));

    public SchemaMigrationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("Sqlite", "Data Source=:memory:")]
    [InlineData("Postgres", "Host=localhost")]
    public void ModelSnapshot_EqualsCurrentEfModel_ElseAddAMigration(string provider, string connectionString)
    {
        var options = new DbContextOptionsBuilder<LedgerDbContext>();
        LedgerStorageExtensions.Configure(options, provider, connectionString);
        using var db = new LedgerDbContext(options.Options);

        var current = db.Database.GenerateCreateScript();

        // On failure: run tools/migrations/snapshot.sh and add a migration taking the old schema to the new model.sql.
        Assert.Equal(SchemaMigrator.ModelSnapshot(provider).ReplaceLineEndings(), current.ReplaceLineEndings());
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public void Scripts_StartWithInitialAndAreOrdered(string provider)
    {
        var scripts = SchemaMigrator.Scripts(provider);

        Assert.Equal("0001_initial", scripts[0].Id);
        Assert.Equal(scripts.Select(s => s.Id).Order(StringComparer.Ordinal), scripts.Select(s => s.Id));
    }

    [Fact]
    public async Task Migrate_RunTwiceOnSqliteFile_AppliesOnceAndKeepsData()
    {
        var options = new DbContextOptionsBuilder<LedgerDbContext>();
        LedgerStorageExtensions.Configure(options, "Sqlite", $"Data Source={Path.Combine(_dir, "m.db")}");

        await using (var db = new LedgerDbContext(options.Options))
        {
            var first = await SchemaMigrator.MigrateAsync(db);
            Assert.Equal(SchemaMigrator.Scripts("Sqlite").Select(s => s.Id), first);
            db.Accounts.Add(new Account { Id = Guid.NewGuid(), Name = "kept", CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }
        await using (var db = new LedgerDbContext(options.Options))
        {
            var second = await SchemaMigrator.MigrateAsync(db);
            Assert.Empty(second);
            Assert.Equal("kept", (await db.Accounts.SingleAsync()).Name);
        }
    }

    /// <summary>
    /// Gateways started together on an empty database (a fresh deployment of several instances) all come up, and each
    /// migration is applied by exactly one of them. On PostgreSQL two concurrent <c>CREATE TABLE IF NOT EXISTS</c> of the
    /// bookkeeping table failed one instance with a unique violation on the catalog before migrations took turns.
    /// </summary>
    [Theory]
    [InlineData("Postgres")]
    [InlineData("Sqlite")]
    public async Task Migrate_SeveralInstancesAtOnceOnAnEmptyDatabase_AllStartAndEachMigrationIsAppliedOnce(string provider)
    {
        const int instances = 6;
        var scripts = SchemaMigrator.Scripts(provider).Select(s => s.Id).ToList();
        for (var round = 0; round < 4; round++)
        {
            var (connectionString, drop) = await EmptyDatabaseAsync(provider, round);
            try
            {
                var options = new DbContextOptionsBuilder<LedgerDbContext>();
                LedgerStorageExtensions.Configure(options, provider, connectionString);
                using var start = new Barrier(instances);
                var runs = Enumerable.Range(0, instances).Select(_ => Task.Run(async () =>
                {
                    await using var db = new LedgerDbContext(options.Options);
                    start.SignalAndWait();
                    return await SchemaMigrator.MigrateAsync(db);
                })).ToList();
                var applied = await Task.WhenAll(runs);

                var all = applied.SelectMany(a => a).ToList();
                Assert.True(all.Count == scripts.Count && all.Order(StringComparer.Ordinal).SequenceEqual(scripts),
                    $"round {round}: {instances} instances applied [{string.Join(", ", all)}], expected each of {scripts.Count} migrations once");
            }
            finally
            {
                await drop();
            }
        }
    }

    private async Task<(string ConnectionString, Func<Task> Drop)> EmptyDatabaseAsync(string provider, int round)
    {
        if (provider == "Sqlite")
        {
            var path = Path.Combine(_dir, $"race-{round}.db");
            return ($"Data Source={path}", () => Task.CompletedTask);
        }
        var server = Environment.GetEnvironmentVariable("AIGATEWAY_TEST_POSTGRES") is { Length: > 0 } s
            ? s : "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var name = $"aigw_migrate_race_{Guid.NewGuid():N}";
        await using (var connection = new Npgsql.NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        return (new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = name }.ToString(), async () =>
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await using var connection = new Npgsql.NpgsqlConnection(server);
            await connection.OpenAsync();
            await using var dropCommand = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await dropCommand.ExecuteNonQueryAsync();
        });
    }
}

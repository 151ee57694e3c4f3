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
}

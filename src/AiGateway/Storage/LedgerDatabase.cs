using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Storage;

/// <summary>Creates or upgrades the ledger schema at start-up and sets SQLite to WAL.</summary>
public static class LedgerDatabase
{
    /// <summary>Makes sure the folder of a SQLite file exists and returns the connection string to use.</summary>
    public static string PrepareSqliteConnectionString(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (!string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:")
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        }
        builder.DefaultTimeout = builder.DefaultTimeout == 30 ? 30 : builder.DefaultTimeout;
        builder.Pooling = true;
        return builder.ToString();
    }

    /// <summary>Brings the schema up to date with the checked-in migrations (see <see cref="Migrations.SchemaMigrator"/>).</summary>
    public static async Task InitializeAsync(LedgerDbContext db, CancellationToken cancellationToken = default)
    {
        if (db.Database.IsSqlite())
        {
            // WAL first: readers never block the writer, and commits survive a process crash with synchronous=NORMAL.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        await Migrations.SchemaMigrator.MigrateAsync(db, cancellationToken);
    }
}

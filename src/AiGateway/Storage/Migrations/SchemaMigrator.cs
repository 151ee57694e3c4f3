using System.Data.Common;
using System.Reflection;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Storage.Migrations;

/// <summary>
/// Applies the checked-in SQL migrations of the configured provider (<c>Storage/Migrations/{Sqlite|Postgres}/NNNN_name.sql</c>,
/// embedded) in order, each once, recording them in <c>schema_migrations</c>. Several instances may start at once: each
/// migration's row is inserted first, in the same transaction as its script, so only one instance applies it.
/// </summary>
/// <remarks>
/// EF Core's own migrations need the Microsoft.EntityFrameworkCore.Design package to scaffold, which the package
/// registry here cannot restore; these scripts are written from EF's <c>GenerateCreateScript()</c> for the initial
/// schema and by hand afterwards. <c>model.sql</c> beside them is the model they must produce; a unit test fails
/// when the EF model changes without a new migration (<c>tools/migrations/snapshot.sh</c> refreshes it).
/// </remarks>
public static class SchemaMigrator
{
    /// <summary>The provider folder name for the context's database provider.</summary>
    public static string ProviderFolder(LedgerDbContext db) => db.Database.IsNpgsql() ? "Postgres" : "Sqlite";

    /// <summary>The migrations of a provider folder as (id, sql), in order.</summary>
    public static IReadOnlyList<(string Id, string Sql)> Scripts(string providerFolder)
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var prefix = $"{assembly.GetName().Name}.Storage.Migrations.{providerFolder}.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal)
                        && !n.EndsWith(".model.sql", StringComparison.Ordinal))
            .Select(n => (Id: n[prefix.Length..^4], Resource: n))
            .OrderBy(m => m.Id, StringComparer.Ordinal)
            .Select(m => (m.Id, Read(assembly, m.Resource)))
            .ToList();
    }

    /// <summary>The schema snapshot the migrations of a provider folder must produce.</summary>
    public static string ModelSnapshot(string providerFolder)
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        return Read(assembly, $"{assembly.GetName().Name}.Storage.Migrations.{providerFolder}.model.sql");
    }

    /// <summary>
    /// Applies every migration not applied yet; returns the ids applied now. <paramref name="progress"/> hears each
    /// migration's id before it runs (elapsed null) and once it is committed (elapsed time).
    /// </summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(
        LedgerDbContext db, CancellationToken cancellationToken = default, Action<string, TimeSpan?>? progress = null)
    {
        var applied = new List<string>();
        var folder = ProviderFolder(db);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            await ExecuteAsync(connection, null,
                "CREATE TABLE IF NOT EXISTS schema_migrations (id VARCHAR(200) NOT NULL PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)", cancellationToken);
            var done = await AppliedAsync(connection, cancellationToken);
            foreach (var (id, sql) in Scripts(folder))
            {
                if (done.Contains(id)) continue;
                progress?.Invoke(id, null);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                try
                {
                    // Claim the migration first: a concurrent instance blocks or fails here instead of running the script twice.
                    await ExecuteAsync(connection, transaction,
                        $"INSERT INTO schema_migrations (id, applied_at) VALUES ('{id.Replace("'", "''")}', '{DateTimeOffset.UtcNow:O}')", cancellationToken);
                    await ExecuteAsync(connection, transaction, sql, cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    applied.Add(id);
                    progress?.Invoke(id, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                }
                catch (DbException)
                {
                    // Lost the race to another instance (its row is there now) — or a real failure, which is rethrown.
                    if (!(await AppliedAsync(connection, cancellationToken, transaction)).Contains(id)) throw;
                }
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        return applied;
    }

    private static async Task<HashSet<string>> AppliedAsync(DbConnection connection, CancellationToken cancellationToken, DbTransaction? failed = null)
    {
        if (failed is not null)
        {
            // The failed transaction must end before the table can be read again (PostgreSQL aborts it).
            await failed.RollbackAsync(CancellationToken.None);
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM schema_migrations";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetString(0));
        return ids;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        // No time limit: a script that fills a new table from months of calls runs longer than the default 30 s on a
        // large ledger (0013 on 1 M PostgreSQL calls under load), and a migration cut short only starts over next time.
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
                           ?? throw new InvalidOperationException($"Embedded migration resource {resource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

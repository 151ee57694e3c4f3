using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>
/// Finds GUIDs a writer stored on SQLite as anything but a 16-byte BLOB (<see cref="SqliteGuid"/>): every Guid column
/// of the EF model, in every table. <see cref="GatewayFactory"/> runs it when a SQLite host is disposed, so every
/// integration test's writes (calls, leases, grants, keys, notifications, video jobs …) are checked.
/// </summary>
public static class GuidStorageScan
{
    /// <summary>"table.column: n of m rows" for each Guid column holding a value that is not a 16-byte BLOB; empty when all are.</summary>
    public static async Task<List<string>> NonBlobGuidsAsync(string sqliteConnectionString)
    {
        var options = new DbContextOptionsBuilder<LedgerDbContext>();
        LedgerStorageExtensions.Configure(options, "Sqlite", sqliteConnectionString);
        await using var db = new LedgerDbContext(options.Options);
        var columns = db.Model.GetEntityTypes()
            .SelectMany(e => e.GetProperties().Where(p => (Nullable.GetUnderlyingType(p.ClrType) ?? p.ClrType) == typeof(Guid))
                .Select(p => (Table: e.GetTableName()!, Column: p.GetColumnName())))
            .ToList();
        await using var connection = new SqliteConnection(sqliteConnectionString);
        await connection.OpenAsync();
        var tables = new HashSet<string>(StringComparer.Ordinal);
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            await using var names = await list.ExecuteReaderAsync();
            while (await names.ReadAsync()) tables.Add(names.GetString(0));
        }
        var found = new List<string>();
        foreach (var (table, column) in columns.Where(c => tables.Contains(c.Table)))
        {
            await using var command = connection.CreateCommand();
            // Table and column names come from the EF model, not from input.
            command.CommandText = $"""
                SELECT COUNT(*), COALESCE(SUM(typeof("{column}") NOT IN ('blob', 'null') OR (typeof("{column}") = 'blob' AND length("{column}") <> 16)), 0)
                FROM "{table}"
                """;
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync() && reader.GetInt64(1) > 0) found.Add($"{table}.{column}: {reader.GetInt64(1)} of {reader.GetInt64(0)} rows");
        }
        return found;
    }
}

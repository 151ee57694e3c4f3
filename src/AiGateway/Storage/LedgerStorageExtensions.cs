using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Storage;

/// <summary>Registers the ledger database (SQLite by default, PostgreSQL by configuration).</summary>
public static class LedgerStorageExtensions
{
    /// <summary>
    /// Adds <see cref="LedgerDbContext"/> using <c>Ledger:Provider</c> (Sqlite | Postgres) and <c>ConnectionStrings:Ledger</c>,
    /// and the process's one <see cref="DatabaseWriter"/>.
    /// </summary>
    public static IServiceCollection AddLedgerStorage(this IServiceCollection services, IConfiguration configuration)
    {
        // Read when the first context is built, not now: hosts (and tests) may still add configuration sources.
        services.AddDbContextPool<LedgerDbContext>((sp, options) => Configure(options, sp.GetRequiredService<IConfiguration>()));
        services.AddPooledDbContextFactory<LedgerDbContext>((sp, options) => Configure(options, sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton(sp => new DatabaseWriter(sp.GetRequiredService<IDbContextFactory<LedgerDbContext>>(),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<LedgerOptions>>().Value.SqliteGroupCommitMaxOperations));
        return services;
    }

    private static void Configure(DbContextOptionsBuilder options, IConfiguration configuration) =>
        Configure(options, configuration["Ledger:Provider"] ?? "Sqlite",
            configuration.GetConnectionString("Ledger") ?? "Data Source=data/aigateway.db");

    /// <summary>Applies the configured provider to EF Core options (also used by tests and tools).</summary>
    public static void Configure(DbContextOptionsBuilder options, string provider, string connectionString)
    {
        if (provider.Equals("Postgres", StringComparison.OrdinalIgnoreCase))
        {
            options.UseNpgsql(LedgerDatabase.PreparePostgresConnectionString(connectionString));
        }
        else if (provider.Equals("Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            options.UseSqlite(LedgerDatabase.PrepareSqliteConnectionString(connectionString))
                .AddInterceptors(new SqlitePragmaInterceptor());
        }
        else
        {
            throw new InvalidOperationException($"Ledger:Provider must be 'Sqlite' or 'Postgres', not '{provider}'.");
        }
    }
}

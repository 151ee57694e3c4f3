using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Hosting;

/// <summary><c>AiGateway --print-schema Sqlite|Postgres</c>: prints the EF model's create script (used by tools/migrations/snapshot.sh).</summary>
public static class SchemaCommand
{
    /// <summary>Whether the arguments ask for the schema instead of starting the gateway.</summary>
    public static bool IsRequested(string[] args) => args.Length == 2 && args[0] == "--print-schema";

    /// <summary>Writes the create script of the model for the provider to standard output.</summary>
    public static int Run(string provider)
    {
        var options = new DbContextOptionsBuilder<LedgerDbContext>();
        LedgerStorageExtensions.Configure(options, provider,
            provider.Equals("Postgres", StringComparison.OrdinalIgnoreCase) ? "Host=localhost" : "Data Source=:memory:");
        using var db = new LedgerDbContext(options.Options);
        Console.Out.Write(db.Database.GenerateCreateScript());
        return 0;
    }
}

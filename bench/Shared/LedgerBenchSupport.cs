// Shared by the ledger benchmark programs (bench/Ledger, bench/LedgerBatch, bench/Records): the small pieces of the
// gateway's set-up they build by hand instead of through the host (compiled into each, see their .csproj).
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

/// <summary>A DbContext factory over fixed options (what the host's AddDbContextFactory gives the gateway).</summary>
sealed class Factory(DbContextOptions<LedgerDbContext> options) : IDbContextFactory<LedgerDbContext>
{
    public LedgerDbContext CreateDbContext() => new(options);
}

/// <summary>The plan catalog's options, fixed (no plans configured).</summary>
sealed class StaticPlans : IOptionsMonitor<PlansOptions>
{
    public PlansOptions CurrentValue { get; } = new();
    public PlansOptions Get(string? name) => CurrentValue;
    public IDisposable? OnChange(Action<PlansOptions, string?> listener) => null;
}

namespace AiGateway.History;

/// <summary>Registers the history upkeep: usage rollups, SQLite WAL checkpoints and retention.</summary>
public static class HistoryExtensions
{
    /// <summary>Adds <see cref="HistoryOptions"/> (section <c>History</c>, validated at start-up) and the background steps.</summary>
    public static IServiceCollection AddHistory(this IServiceCollection services)
    {
        services.AddOptions<HistoryOptions>().BindConfiguration(HistoryOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.RollupInterval > TimeSpan.Zero, "History:RollupInterval must be positive.")
            .Validate(o => o.RetentionInterval > TimeSpan.Zero, "History:RetentionInterval must be positive.")
            .Validate(o => o.ResolvedHoldRetention >= TimeSpan.Zero, "History:ResolvedHoldRetention must not be negative.")
            .Validate(o => !o.RetentionEnabled || !string.IsNullOrWhiteSpace(o.ArchivePath), "History:ArchivePath is required when retention is enabled.")
            .ValidateOnStart();
        services.AddSingleton<UsageRollupStep>();
        services.AddHostedService<UsageRollupService>();
        services.AddSingleton<HistoryRetention>();
        services.AddSingleton<HoldCompaction>();
        services.AddHostedService<RetentionService>();
        services.AddSingleton<SqliteCheckpointService>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCheckpointService>());
        return services;
    }
}

using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>
/// Runs <see cref="HoldCompaction"/> (unless <see cref="HistoryOptions.ResolvedHoldRetention"/> is zero) and
/// <see cref="HistoryRetention"/> (when <see cref="HistoryOptions.RetentionEnabled"/>) every <see cref="HistoryOptions.RetentionInterval"/>.
/// </summary>
public sealed class RetentionService(HistoryRetention retention, HoldCompaction compaction, IOptions<HistoryOptions> options, ILogger<RetentionService> logger)
    : BackgroundService
{
    private static readonly TimeSpan Claim = TimeSpan.FromHours(1);

    /// <summary>Archives and deletes on every tick until the host stops (one instance at a time).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RetentionEnabled && options.Value.ResolvedHoldRetention <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(options.Value.RetentionInterval);
        do
        {
            try
            {
                if (!await retention.TryClaimAsync(Claim, stoppingToken)) continue;
                try
                {
                    var compacted = await compaction.RunAsync(stoppingToken);
                    if (compacted.Movements + compacted.Holds > 0)
                        logger.LogInformation("Deleted {Movements} hold movements and {Holds} resolved holds", compacted.Movements, compacted.Holds);
                    if (options.Value.RetentionEnabled)
                    {
                        var result = await retention.RunAsync(stoppingToken);
                        if (result.Archived + result.Deleted > 0)
                            logger.LogInformation("Retention archived {Archived} and deleted {Deleted} call records", result.Archived, result.Deleted);
                    }
                }
                finally
                {
                    await retention.ReleaseClaimAsync();
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Nothing is deleted before it is archived and listed, so a failed run is simply run again.
                logger.LogWarning(ex, "Retention run failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

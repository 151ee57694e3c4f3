using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>Runs <see cref="HistoryRetention"/> every <see cref="HistoryOptions.RetentionInterval"/> when <see cref="HistoryOptions.RetentionEnabled"/>.</summary>
public sealed class RetentionService(HistoryRetention retention, IOptions<HistoryOptions> options, ILogger<RetentionService> logger) : BackgroundService
{
    private static readonly TimeSpan Claim = TimeSpan.FromHours(1);

    /// <summary>Archives and deletes on every tick until the host stops (one instance at a time).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RetentionEnabled) return;
        using var timer = new PeriodicTimer(options.Value.RetentionInterval);
        do
        {
            try
            {
                if (!await retention.TryClaimAsync(Claim, stoppingToken)) continue;
                try
                {
                    var result = await retention.RunAsync(stoppingToken);
                    if (result.Archived + result.Deleted > 0)
                        HistoryLog.RetentionRan(logger, result.Archived, result.Deleted);
                }
                finally
                {
                    await retention.ReleaseClaimAsync();
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Nothing is deleted before it is archived and listed, so a failed run is simply run again.
                HistoryLog.RetentionFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

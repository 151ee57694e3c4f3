using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>Runs <see cref="UsageRollupStep"/> every <see cref="HistoryOptions.RollupInterval"/> (safe on several instances at once).</summary>
public sealed class UsageRollupService(UsageRollupStep step, IOptions<HistoryOptions> options, ILogger<UsageRollupService> logger) : BackgroundService
{
    // Bounded per tick so a first replay of a large database yields to shutdown and to other writers between ticks.
    private const int MaxChunksPerTick = 200;

    /// <summary>Catches up on every tick until the host stops.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RollupInterval);
        do
        {
            try
            {
                await step.CatchUpAsync(MaxChunksPerTick, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Summaries stay exact without it (they read the calls above the watermark); retried next tick.
                HistoryLog.RollupFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

using Microsoft.Extensions.Options;

namespace AiGateway.Ledger;

/// <summary>Periodically expires stale holds, records lot expiries and issues plan credits (safe on several instances at once).</summary>
public sealed class LedgerSweepService(
    CreditLedger ledger, IOptions<LedgerOptions> options, TimeProvider time, ILogger<LedgerSweepService> logger) : BackgroundService
{
    /// <summary>Runs the sweep every <see cref="LedgerOptions.SweepInterval"/> until the host stops.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                await ledger.SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A failed sweep (e.g. database briefly unavailable) is retried at the next tick.
                LedgerLog.SweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

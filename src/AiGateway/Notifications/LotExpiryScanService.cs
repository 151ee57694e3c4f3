using AiGateway.Ledger;
using AiGateway.Storage;

namespace AiGateway.Notifications;

/// <summary>
/// Periodically writes a <see cref="NotificationEventTypes.LotExpiring"/> event for each lot with credits left that expires
/// within the account's (or the global) number of days. Idempotent: one event per lot whatever instance scans first or how
/// often (the outbox's unique episode <c>lot:{id}</c>). Plan and daily lots are left out: they end with their period and
/// are replaced by the next one, so announcing them would repeat every period.
/// </summary>
public sealed partial class LotExpiryScanService(
    DatabaseWriter writer, NotificationOutbox outbox, TimeProvider time, ILogger<LotExpiryScanService> logger) : BackgroundService
{
    /// <summary>Scans every <see cref="NotificationOptions.ExpiryScanInterval"/> until the host stops (nothing when notifications are off).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!outbox.Enabled) return;
        using var timer = new PeriodicTimer(outbox.Options.ExpiryScanInterval, time);
        do
        {
            try
            {
                await ScanAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.ScanFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Writes the events of lots now within their announcement window; returns how many were new.</summary>
    public async Task<int> ScanAsync(CancellationToken cancellationToken = default)
    {
        if (!outbox.Enabled) return 0;
        var now = time.GetUtcNow().UtcTicks;
        return await writer.InTransactionAsync(async s =>
        {
            var due = new List<(long Id, Guid Account, string Kind, long Remaining, long ExpiresAt, string? Events)>();
            await using (var reader = await s.ReaderAsync(
                $"""
                SELECT l.id, l.account_id, l.kind, l.remaining, l.expires_at, n.events FROM credit_lots l
                JOIN notification_accounts n ON n.account_id = l.account_id
                WHERE l.remaining > 0 AND l.expires_at > @now AND l.kind NOT IN ('{CreditKinds.Plan}', '{CreditKinds.Daily}')
                  AND l.expires_at <= @now + COALESCE(n.expiring_within_days, @days) * @day
                  AND NOT EXISTS (SELECT 1 FROM notification_events e
                                  WHERE e.account_id = l.account_id AND e.type = '{NotificationEventTypes.LotExpiring}' AND e.episode = 'lot:' || l.id)
                ORDER BY l.id
                """,
                ("@now", now), ("@days", outbox.Options.ExpiringWithinDays), ("@day", TimeSpan.TicksPerDay)))
            {
                while (await reader.ReadAsync())
                {
                    due.Add((reader.GetInt64(0), LedgerSession.ReadGuid(reader, 1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5)));
                }
            }
            var written = 0;
            foreach (var lot in due)
            {
                if (!outbox.Wants(lot.Events, NotificationEventTypes.LotExpiring)) continue;
                if (await outbox.OnLotExpiringAsync(s, lot.Account, lot.Id, lot.Kind, lot.Remaining, lot.ExpiresAt, now)) written++;
            }
            return written;
        }, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7010, Level = LogLevel.Warning, Message = "Lot expiry scan failed; retrying at the next tick")]
        public static partial void ScanFailed(ILogger logger, Exception exception);
    }
}

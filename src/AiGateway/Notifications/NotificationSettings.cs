using System.Text.Json.Nodes;
using AiGateway.Storage;
using AiGateway.Pricing;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Notifications;

/// <summary>Reads and changes an account's notification settings, lists its events with their deliveries, and re-sends an event.</summary>
public sealed class NotificationSettings(DatabaseWriter writer, NotificationOutbox outbox, IDbContextFactory<LedgerDbContext> dbFactory, TimeProvider time)
{
    /// <summary>An account's own settings (null fields take the global defaults).</summary>
    public sealed record AccountSettings(decimal? LowBalanceCredits, int? LowBalancePercent, int? ExpiringWithinDays, IReadOnlyList<string>? Events);

    /// <summary>The settings, what applies after the global defaults, and the episode state; null for an unknown account.</summary>
    public async Task<NotificationSettingsView?> GetAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Accounts.AnyAsync(a => a.Id == accountId, cancellationToken)) return null;
        var row = await db.NotificationAccounts.AsNoTracking().FirstOrDefaultAsync(n => n.AccountId == accountId, cancellationToken);
        return View(accountId, row);
    }

    /// <summary>
    /// Replaces the account's own settings. A change of threshold starts a new low-balance episode (re-armed: if the balance
    /// is already below the new threshold, the next settlement announces it). Null for an unknown account.
    /// </summary>
    public async Task<NotificationSettingsView?> PutAsync(Guid accountId, AccountSettings settings, CancellationToken cancellationToken)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Accounts.AnyAsync(a => a.Id == accountId, cancellationToken)) return null;
        }
        long? micro = settings.LowBalanceCredits is { } c ? Credits.FromDecimal(c).Micro : null;
        var events = settings.Events is null ? null : string.Join(',', settings.Events.Distinct(StringComparer.Ordinal));
        var now = time.GetUtcNow().UtcTicks;
        await writer.InTransactionAsync(async s =>
        {
            var id = s.Id(accountId);
            (long? Micro, int? Percent)? old = null;
            await using (var reader = await s.ReaderAsync(
                "SELECT low_balance_micro, low_balance_percent FROM notification_accounts WHERE account_id = @a", ("@a", id)))
            {
                if (await reader.ReadAsync()) old = (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt32(1));
            }
            if (old is null)
            {
                // No lot yet: nothing to be exhausted of until the first grant arms it.
                return await s.ExecuteAsync(
                    """
                    INSERT INTO notification_accounts (account_id, low_balance_micro, low_balance_percent, expiring_within_days, events,
                        last_grant, low_armed, low_episode, exhausted_armed, exhausted_episode, updated_at)
                    VALUES (@a, @m, @p, @d, @ev, 0, @t, 1, @f, 1, @now)
                    """,
                    ("@a", id), ("@m", micro), ("@p", settings.LowBalancePercent), ("@d", settings.ExpiringWithinDays), ("@ev", events),
                    ("@t", true), ("@f", false), ("@now", now));
            }
            var rearm = old.Value.Micro != micro || old.Value.Percent != settings.LowBalancePercent;
            return await s.ExecuteAsync(
                """
                UPDATE notification_accounts SET low_balance_micro = @m, low_balance_percent = @p, expiring_within_days = @d, events = @ev,
                    low_episode = low_episode + CASE WHEN @r AND NOT low_armed THEN 1 ELSE 0 END,
                    low_armed = CASE WHEN @r THEN @t ELSE low_armed END, updated_at = @now
                WHERE account_id = @a
                """,
                ("@m", micro), ("@p", settings.LowBalancePercent), ("@d", settings.ExpiringWithinDays), ("@ev", events),
                ("@r", rearm), ("@t", true), ("@now", now), ("@a", id));
        }, cancellationToken);
        return await GetAsync(accountId, cancellationToken);
    }

    /// <summary>The account's most recent events, newest first, each with its deliveries; null for an unknown account.</summary>
    public async Task<IReadOnlyList<NotificationEventView>?> ListEventsAsync(Guid accountId, int limit, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Accounts.AnyAsync(a => a.Id == accountId, cancellationToken)) return null;
        var events = await db.NotificationEvents.AsNoTracking().Where(e => e.AccountId == accountId)
            .OrderByDescending(e => e.CreatedAt).ThenByDescending(e => e.Id).Take(limit).ToListAsync(cancellationToken);
        return await ViewsAsync(db, events, cancellationToken);
    }

    /// <summary>One event with its deliveries; null when unknown.</summary>
    public async Task<NotificationEventView?> GetEventAsync(string eventId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var e = await db.NotificationEvents.AsNoTracking().FirstOrDefaultAsync(x => x.Id == eventId, cancellationToken);
        return e is null ? null : (await ViewsAsync(db, [e], cancellationToken))[0];
    }

    /// <summary>
    /// Sends an event again to every configured endpoint that takes its type (same <c>webhook-id</c> and body, so receivers that
    /// deduplicate by id see a repeat): each delivery is made pending and due now. False when the event is unknown.
    /// </summary>
    public async Task<bool> ResendAsync(string eventId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        var found = await writer.InTransactionAsync(async s =>
        {
            string? type = null;
            await using (var reader = await s.ReaderAsync("SELECT type FROM notification_events WHERE id = @e", ("@e", eventId)))
            {
                if (await reader.ReadAsync()) type = reader.GetString(0);
            }
            if (type is null) return false;
            foreach (var endpoint in outbox.Options.Endpoints.Where(e => e.Wants(type)))
            {
                await s.ExecuteAsync(
                    """
                    INSERT INTO notification_deliveries (event_id, endpoint, status, attempts, next_attempt_at, lease_until, created_at)
                    VALUES (@e, @ep, 'pending', 0, @now, 0, @now)
                    ON CONFLICT (event_id, endpoint) DO UPDATE SET status = 'pending', next_attempt_at = @now
                    """,
                    ("@e", eventId), ("@ep", endpoint.Name), ("@now", now));
            }
            s.AfterCommit(outbox.Wake);
            return true;
        }, cancellationToken);
        return found;
    }

    private static async Task<IReadOnlyList<NotificationEventView>> ViewsAsync(LedgerDbContext db, List<NotificationEvent> events, CancellationToken ct)
    {
        var ids = events.Select(e => e.Id).ToList();
        var deliveries = (await db.NotificationDeliveries.AsNoTracking().Where(d => ids.Contains(d.EventId)).ToListAsync(ct))
            .ToLookup(d => d.EventId);
        return events.Select(e =>
        {
            var payload = JsonNode.Parse(e.Payload)!;
            return new NotificationEventView(e.Id, e.Type, e.CreatedAt, payload["data"]?.DeepClone(),
                deliveries[e.Id].OrderBy(d => d.Endpoint, StringComparer.Ordinal).Select(d => new NotificationDeliveryView(
                    d.Endpoint, d.Status, d.Attempts, d.LastStatus, d.LastError,
                    d.Status == "pending" ? d.NextAttemptAt : null, d.DeliveredAt)).ToList());
        }).ToList();
    }

    private NotificationSettingsView View(Guid accountId, NotificationAccount? row)
    {
        var events = row?.Events?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var threshold = outbox.Threshold(row?.LowBalanceMicro, row?.LowBalancePercent, row?.LastGrant ?? 0);
        return new NotificationSettingsView(
            accountId,
            row?.LowBalanceMicro is { } m ? new Credits(m).ToDecimal() : null, row?.LowBalancePercent, row?.ExpiringWithinDays, events,
            new EffectiveNotificationSettings(
                outbox.Enabled,
                threshold is { } t ? new Credits(t).ToDecimal() : null,
                row?.ExpiringWithinDays ?? outbox.Options.ExpiringWithinDays,
                events ?? [.. outbox.Options.DefaultEvents]),
            row?.LowArmed ?? true, row?.ExhaustedArmed ?? false, new Credits(row?.LastGrant ?? 0).ToDecimal());
    }
}

/// <summary>An account's notification settings (its own; null takes the global default), what applies, and the episode state.</summary>
public sealed record NotificationSettingsView(
    Guid AccountId, decimal? LowBalanceCredits, int? LowBalancePercent, int? ExpiringWithinDays, IReadOnlyList<string>? Events,
    EffectiveNotificationSettings Effective, bool LowBalanceArmed, bool CreditsExhaustedArmed, decimal LastGrant);

/// <summary>What applies to the account after the global defaults; <c>enabled</c> is false when no endpoint is configured.</summary>
public sealed record EffectiveNotificationSettings(bool Enabled, decimal? LowBalanceThreshold, int ExpiringWithinDays, IReadOnlyList<string> Events);

/// <summary>One event of the outbox and its deliveries.</summary>
public sealed record NotificationEventView(string Id, string Type, DateTimeOffset CreatedAt, JsonNode? Data, IReadOnlyList<NotificationDeliveryView> Deliveries);

/// <summary>One endpoint's delivery of an event: status (<c>pending</c>, <c>delivered</c>, <c>failed</c>), attempts, last outcome.</summary>
public sealed record NotificationDeliveryView(
    string Endpoint, string Status, int Attempts, int? LastStatus, string? LastError, DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt);

using System.Text.Json;
using System.Text.Json.Nodes;
using AiGateway.Ledger;
using AiGateway.Storage;
using AiGateway.Pricing;
using Microsoft.Extensions.Options;

namespace AiGateway.Notifications;

/// <summary>
/// Writes notification events into the outbox inside the ledger transaction that causes them (so an event exists
/// exactly when its ledger change committed), deduplicated per account, type and episode by a unique index, with one
/// delivery row per endpoint that wants the type. Decides the balance episodes: a low-balance event fires when a
/// settlement leaves the balance below the threshold while armed, and re-arms only when a lot takes the balance back to
/// or above it. The checks on the settlement path use values the settlement already read; nothing is written unless
/// an event fires. With no endpoint configured nothing is written at all.
/// </summary>
public sealed class NotificationOutbox
{
    private readonly NotificationOptions _options;
    private readonly long? _globalLowMicro;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the outbox over the <c>Notifications</c> options.</summary>
    public NotificationOutbox(IOptions<NotificationOptions> options)
    {
        _options = options.Value;
        _globalLowMicro = _options.LowBalanceCredits is { } credits ? Credits.FromDecimal(credits).Micro : null;
    }

    /// <summary>Whether any endpoint is configured; when false the ledger writes no event and reads no notification state.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>The options in use.</summary>
    public NotificationOptions Options => _options;

    /// <summary>Wakes the dispatcher (an event was committed).</summary>
    public void Wake() =>
        Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until <see cref="Wake"/> is called or <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await Volatile.Read(ref _wake).Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Nothing woke it: time to poll anyway (retries fall due without a wake).
        }
    }

    /// <summary>An account's low-balance settings and episode state, as the settlement reads them.</summary>
    internal sealed record LowBalanceState(bool Armed, long Episode, long? Micro, int? Percent, long LastGrant, string? Events);

    /// <summary>The columns of <see cref="LowBalanceState"/>, from <c>notification_accounts n</c>.</summary>
    internal const string LowBalanceColumns = "n.low_armed, n.low_episode, n.low_balance_micro, n.low_balance_percent, n.last_grant, n.events";

    /// <summary>Reads <see cref="LowBalanceColumns"/> starting at <paramref name="first"/>; null when the account has no row.</summary>
    internal static LowBalanceState? ReadLowBalance(System.Data.Common.DbDataReader r, int first) =>
        r.IsDBNull(first) ? null : new LowBalanceState(
            r.GetBoolean(first), r.GetInt64(first + 1), r.IsDBNull(first + 2) ? null : r.GetInt64(first + 2),
            r.IsDBNull(first + 3) ? null : r.GetInt32(first + 3), r.GetInt64(first + 4), r.IsDBNull(first + 5) ? null : r.GetString(first + 5));

    /// <summary>Reads an account's low-balance state inside the session (for paths that did not read it with their lock).</summary>
    internal static async Task<LowBalanceState?> ReadLowBalanceAsync(LedgerSession s, Guid accountId)
    {
        await using var reader = await s.ReaderAsync($"SELECT {LowBalanceColumns} FROM notification_accounts n WHERE n.account_id = @a", ("@a", s.Id(accountId)));
        return await reader.ReadAsync() ? ReadLowBalance(reader, 0) : null;
    }

    /// <summary>The low-balance threshold in micro-credits: the account's own, else a percentage of its last grant, else the global one; null for none.</summary>
    internal long? Threshold(long? micro, int? percent, long lastGrant)
    {
        if (micro is { } own) return own > 0 ? own : null;
        var pct = percent ?? _options.LowBalancePercent;
        if (pct is { } p) return lastGrant > 0 ? PercentOf(lastGrant, p) : null;
        return _globalLowMicro is > 0 ? _globalLowMicro : null;
    }

    /// <summary><paramref name="percent"/> % of <paramref name="amount"/>, without overflow for any stored amount.</summary>
    internal static long PercentOf(long amount, int percent) => amount / 100 * percent + amount % 100 * percent / 100;

    /// <summary>Whether an account (with its own list, or null for the global list) receives events of <paramref name="type"/>.</summary>
    internal bool Wants(string? accountEvents, string type) =>
        accountEvents is null ? _options.DefaultEvents.Contains(type, StringComparer.Ordinal)
            : accountEvents.Split(',', StringSplitOptions.RemoveEmptyEntries).Contains(type, StringComparer.Ordinal);

    /// <summary>Whether <see cref="OnSettledAsync"/> writes anything for a charge leaving <paramref name="balanceAfter"/> (the low-balance episode fires).</summary>
    internal bool WritesOnSettled(LowBalanceState? state, long balanceAfter) => FiringThreshold(state, balanceAfter) is not null;

    /// <summary>The threshold below which a settlement fires the account's armed low-balance episode; null when not armed.</summary>
    internal long? ArmedThreshold(LowBalanceState? state) =>
        state is { Armed: true } st ? Threshold(st.Micro, st.Percent, st.LastGrant) : null;

    /// <summary>The low-balance threshold when a balance of <paramref name="balanceAfter"/> fires the armed episode; else null.</summary>
    private long? FiringThreshold(LowBalanceState? state, long balanceAfter) =>
        ArmedThreshold(state) is { } threshold && balanceAfter < threshold ? threshold : null;

    /// <summary>
    /// After a settlement (same transaction): fires <see cref="NotificationEventTypes.BalanceLow"/> when the episode is armed
    /// and the balance after is below the threshold, and disarms it. Pure arithmetic unless it fires.
    /// </summary>
    internal async Task OnSettledAsync(LedgerSession s, Guid accountId, LowBalanceState? state, long balanceBefore, long balanceAfter,
        string requestId, long nowTicks)
    {
        if (FiringThreshold(state, balanceAfter) is not { } threshold) return;
        var st = state!;
        await s.ExecuteAsync("UPDATE notification_accounts SET low_armed = @f, updated_at = @now WHERE account_id = @a",
            ("@f", false), ("@now", nowTicks), ("@a", s.Id(accountId)));
        if (!Wants(st.Events, NotificationEventTypes.BalanceLow)) return;
        await AddAsync(s, accountId, NotificationEventTypes.BalanceLow, $"episode:{st.Episode}", nowTicks, new JsonObject
        {
            ["balance"] = new Credits(balanceAfter).ToDecimal(),
            ["balanceBefore"] = new Credits(balanceBefore).ToDecimal(),
            ["threshold"] = new Credits(threshold).ToDecimal(),
            ["requestId"] = requestId,
        });
    }

    /// <summary>
    /// After a lot was added (same transaction): remembers its amount as the last grant, re-arms the low-balance episode
    /// when the balance is now at or above the threshold, and re-arms credits-exhausted (the account has credits again).
    /// </summary>
    internal async Task OnLotAddedAsync(LedgerSession s, Guid accountId, long amount, long balanceAfter, long nowTicks)
    {
        var id = s.Id(accountId);
        (bool LowArmed, bool ExhaustedArmed, long? Micro, int? Percent)? row = null;
        await using (var reader = await s.ReaderAsync(
            "SELECT low_armed, exhausted_armed, low_balance_micro, low_balance_percent FROM notification_accounts WHERE account_id = @a", ("@a", id)))
        {
            if (await reader.ReadAsync())
            {
                row = (reader.GetBoolean(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt32(3));
            }
        }
        if (row is not { } r)
        {
            // First lot: both episodes start armed (a first grant below the threshold is announced by the next settlement).
            await s.ExecuteAsync(
                """
                INSERT INTO notification_accounts (account_id, last_grant, low_armed, low_episode, exhausted_armed, exhausted_episode, updated_at)
                VALUES (@a, @g, @t, 1, @t, 1, @now)
                ON CONFLICT (account_id) DO UPDATE SET last_grant = excluded.last_grant, updated_at = excluded.updated_at
                """,
                ("@a", id), ("@g", amount), ("@t", true), ("@now", nowTicks));
            return;
        }
        var rearmLow = !r.LowArmed && (Threshold(r.Micro, r.Percent, amount) is not { } t || balanceAfter >= t);
        await s.ExecuteAsync(
            """
            UPDATE notification_accounts SET last_grant = @g, updated_at = @now,
                low_armed = CASE WHEN @rl THEN @t ELSE low_armed END, low_episode = low_episode + CASE WHEN @rl THEN 1 ELSE 0 END,
                exhausted_armed = @t, exhausted_episode = exhausted_episode + CASE WHEN @re THEN 1 ELSE 0 END
            WHERE account_id = @a
            """,
            ("@g", amount), ("@now", nowTicks), ("@rl", rearmLow), ("@t", true), ("@re", !r.ExhaustedArmed), ("@a", id));
    }

    /// <summary>After a refusal for lack of credits (same transaction): the first one since the last grant fires <see cref="NotificationEventTypes.CreditsExhausted"/>.</summary>
    internal async Task OnRefusedAsync(LedgerSession s, Guid accountId, long available, long requested, string requestId, long nowTicks)
    {
        long episode;
        string? events;
        await using (var reader = await s.ReaderAsync(
            """
            UPDATE notification_accounts SET exhausted_armed = @f, updated_at = @now WHERE account_id = @a AND exhausted_armed = @t
            RETURNING exhausted_episode, events
            """,
            ("@f", false), ("@t", true), ("@now", nowTicks), ("@a", s.Id(accountId))))
        {
            if (!await reader.ReadAsync()) return;
            episode = reader.GetInt64(0);
            events = reader.IsDBNull(1) ? null : reader.GetString(1);
        }
        if (!Wants(events, NotificationEventTypes.CreditsExhausted)) return;
        await AddAsync(s, accountId, NotificationEventTypes.CreditsExhausted, $"episode:{episode}", nowTicks, new JsonObject
        {
            ["available"] = new Credits(available).ToDecimal(),
            ["requested"] = new Credits(requested).ToDecimal(),
            ["requestId"] = requestId,
        });
    }

    /// <summary>After a refusal by a task budget (same transaction): once per task and budget.</summary>
    internal async Task OnTaskBudgetRefusedAsync(LedgerSession s, Guid accountId, string task, string requestId, long nowTicks)
    {
        var budget = await s.ScalarAsync("SELECT budget_micro FROM task_budgets WHERE account_id = @a AND task = @t", ("@a", s.Id(accountId)), ("@t", task)) ?? 0;
        if (!Wants(await AccountEventsAsync(s, accountId), NotificationEventTypes.TaskBudgetExhausted)) return;
        await AddAsync(s, accountId, NotificationEventTypes.TaskBudgetExhausted, $"task:{budget}:{task}", nowTicks, new JsonObject
        {
            ["task"] = task,
            ["budget"] = new Credits(budget).ToDecimal(),
            ["requestId"] = requestId,
        });
    }

    /// <summary>After plan credits were issued (same transaction): one event per lot.</summary>
    internal async Task OnPlanIssuedAsync(LedgerSession s, Guid accountId, string plan, LotView lot, long nowTicks)
    {
        if (!Wants(await AccountEventsAsync(s, accountId), NotificationEventTypes.PlanCreditsIssued)) return;
        await AddAsync(s, accountId, NotificationEventTypes.PlanCreditsIssued, $"lot:{lot.Id}", nowTicks, LotData(lot, plan));
    }

    /// <summary>A lot expiring soon (from the periodic scan): once per lot, whatever instance scans first.</summary>
    internal Task<bool> OnLotExpiringAsync(LedgerSession s, Guid accountId, long lotId, string kind, long remaining, long expiresAtTicks, long nowTicks) =>
        AddAsync(s, accountId, NotificationEventTypes.LotExpiring, $"lot:{lotId}", nowTicks, new JsonObject
        {
            ["lotId"] = lotId,
            ["kind"] = kind,
            ["remaining"] = new Credits(remaining).ToDecimal(),
            ["expiresAt"] = new DateTimeOffset(expiresAtTicks, TimeSpan.Zero),
        });

    private static JsonObject LotData(LotView lot, string plan) => new()
    {
        ["plan"] = plan,
        ["lotId"] = lot.Id,
        ["kind"] = lot.Kind,
        ["credits"] = lot.Amount.ToDecimal(),
        ["expiresAt"] = lot.ExpiresAt,
    };

    private static async Task<string?> AccountEventsAsync(LedgerSession s, Guid accountId)
    {
        await using var reader = await s.ReaderAsync("SELECT events FROM notification_accounts WHERE account_id = @a", ("@a", s.Id(accountId)));
        return await reader.ReadAsync() && !reader.IsDBNull(0) ? reader.GetString(0) : null;
    }

    /// <summary>
    /// Inserts the event (unless its episode was written before) and a pending delivery per endpoint wanting its type,
    /// and wakes the dispatcher once the transaction commits. Returns whether the event is new.
    /// </summary>
    internal async Task<bool> AddAsync(LedgerSession s, Guid accountId, string type, string episode, long nowTicks, JsonObject data)
    {
        var endpoints = _options.Endpoints.Where(e => e.Wants(type)).ToList();
        if (endpoints.Count == 0) return false;
        var id = NewMessageId();
        var now = new DateTimeOffset(nowTicks, TimeSpan.Zero);
        data["accountId"] = accountId;
        var payload = new JsonObject { ["type"] = type, ["timestamp"] = now, ["data"] = data }.ToJsonString(PayloadJson);
        var inserted = await s.ExecuteAsync(
            """
            INSERT INTO notification_events (id, account_id, type, episode, payload, created_at) VALUES (@id, @a, @type, @ep, @payload, @now)
            ON CONFLICT (account_id, type, episode) DO NOTHING
            """,
            ("@id", id), ("@a", s.Id(accountId)), ("@type", type), ("@ep", episode), ("@payload", payload), ("@now", nowTicks));
        if (inserted == 0) return false;
        foreach (var endpoint in endpoints)
        {
            await s.ExecuteAsync(
                """
                INSERT INTO notification_deliveries (event_id, endpoint, status, attempts, next_attempt_at, lease_until, created_at)
                VALUES (@e, @ep, 'pending', 0, @now, 0, @now)
                """,
                ("@e", id), ("@ep", endpoint.Name), ("@now", nowTicks));
        }
        s.AfterCommit(Wake);
        return true;
    }

    /// <summary>A new message id: <c>msg_</c> + a time-ordered UUID (unique across instances without coordination).</summary>
    internal static string NewMessageId() => "msg_" + Guid.CreateVersion7().ToString("N");

    private static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);
}

namespace AiGateway.Notifications;

/// <summary>
/// An account's notification settings and the state that keeps its events to one per episode: a balance event is
/// armed until it fires and re-armed when the balance is back at or above the threshold (a grant), so a balance
/// hovering around the threshold notifies once. Created with the account's first lot (its amount is the "last grant"
/// a percentage threshold refers to).
/// </summary>
public sealed class NotificationAccount
{
    /// <summary>The account (primary key).</summary>
    public Guid AccountId { get; set; }

    /// <summary>Low-balance threshold in micro-credits set for this account; null takes the percentage or the global default.</summary>
    public long? LowBalanceMicro { get; set; }

    /// <summary>Low-balance threshold as a percentage of the last grant set for this account; null takes the global default.</summary>
    public int? LowBalancePercent { get; set; }

    /// <summary>Days ahead a lot's expiry is announced for this account; null takes the global default.</summary>
    public int? ExpiringWithinDays { get; set; }

    /// <summary>The event types this account receives, comma-separated; null takes the global list.</summary>
    public string? Events { get; set; }

    /// <summary>Micro-credits of the account's most recent lot (what a percentage threshold is a percentage of).</summary>
    public long LastGrant { get; set; }

    /// <summary>Whether a low-balance event may fire (cleared when it fires, set again when the balance is back above).</summary>
    public bool LowArmed { get; set; }

    /// <summary>The current low-balance episode (its number is the event's deduplication key).</summary>
    public long LowEpisode { get; set; }

    /// <summary>Whether a credits-exhausted event may fire (cleared by the first refusal, set again by a grant).</summary>
    public bool ExhaustedArmed { get; set; }

    /// <summary>The current credits-exhausted episode.</summary>
    public long ExhaustedEpisode { get; set; }

    /// <summary>Last change.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One event of the outbox, written in the transaction of the ledger change that caused it; its body is fixed when
/// written, so every attempt sends the same bytes under the same <c>webhook-id</c>.
/// </summary>
public sealed class NotificationEvent
{
    /// <summary>The message id (<c>msg_…</c>), sent as <c>webhook-id</c>.</summary>
    public required string Id { get; set; }

    /// <summary>The account the event is about.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The event type (see <see cref="NotificationEventTypes"/>).</summary>
    public required string Type { get; set; }

    /// <summary>What makes the event unique for its account and type (an episode number, a lot id, a task): written at most once.</summary>
    public required string Episode { get; set; }

    /// <summary>The JSON body sent (<c>{type, timestamp, data}</c>).</summary>
    public required string Payload { get; set; }

    /// <summary>When the event happened.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The delivery of one event to one configured endpoint: attempts, the next one, and the lease of the instance sending it.</summary>
public sealed class NotificationDelivery
{
    /// <summary>Row id.</summary>
    public long Id { get; set; }

    /// <summary>The event delivered.</summary>
    public required string EventId { get; set; }

    /// <summary>The endpoint's configured name.</summary>
    public required string Endpoint { get; set; }

    /// <summary><c>pending</c>, <c>delivered</c> or <c>failed</c> (gave up).</summary>
    public required string Status { get; set; }

    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; set; }

    /// <summary>When the next attempt is due.</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Until when an instance holds the delivery (claimed for an attempt); free when in the past.</summary>
    public DateTimeOffset LeaseUntil { get; set; }

    /// <summary>The instance holding the lease.</summary>
    public string? LeaseOwner { get; set; }

    /// <summary>HTTP status of the last attempt (null when it got no response).</summary>
    public int? LastStatus { get; set; }

    /// <summary>Why the last attempt failed.</summary>
    public string? LastError { get; set; }

    /// <summary>When the receiver acknowledged it (2xx).</summary>
    public DateTimeOffset? DeliveredAt { get; set; }

    /// <summary>When the delivery was created (with its event).</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

namespace AiGateway.Ledger;

/// <summary>Credits reserved for one request until it is settled, released or expires.</summary>
public sealed class CreditHold
{
    /// <summary>Database-generated id.</summary>
    public long Id { get; set; }

    /// <summary>The account the hold counts against.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The request the hold is for; unique, so a request holds at most once.</summary>
    public required string RequestId { get; set; }

    /// <summary>Micro-credits reserved.</summary>
    public long Amount { get; set; }

    /// <summary>One of <see cref="HoldStatuses"/>.</summary>
    public required string Status { get; set; }

    /// <summary>When the hold was made.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the sweep may release the hold if nobody settled it.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>When it was settled, released or expired.</summary>
    public DateTimeOffset? ResolvedAt { get; set; }

    /// <summary>The charge that settled it, if any.</summary>
    public long? ChargeId { get; set; }

    /// <summary>The agent task (<c>X-Gateway-Task</c>) the held call belongs to, if any; task budgets sum over it.</summary>
    public string? Task { get; set; }

    /// <summary>One-step charges: hash of the request's parameters, to tell a repeat of the request id from a reuse; null otherwise.</summary>
    public string? Fingerprint { get; set; }
}

/// <summary>
/// The call record (JSON) an active hold keeps, to store if the hold expires unresolved, i.e. the call was interrupted
/// (status <c>interrupted</c>, nothing charged); deleted when the hold is resolved. A row of its own rather than a
/// column of the hold: ~0.5 KB written and deleted a moment later left that much space in the hold table's pages for
/// good (SQLite does not refill a page's freed space with later rows), ~180 B per exact hold; freed rows of this small
/// table are reused at once.
/// </summary>
public sealed class CreditHoldRecord
{
    /// <summary>The active hold's id.</summary>
    public long HoldId { get; set; }

    /// <summary>The interrupted-call record as JSON.</summary>
    public required string Record { get; set; }
}

/// <summary>The states of a hold; a hold leaves <see cref="Active"/> exactly once.</summary>
public static class HoldStatuses
{
    /// <summary>Counts against the balance.</summary>
    public const string Active = "active";

    /// <summary>Resolved by a charge.</summary>
    public const string Settled = "settled";

    /// <summary>Resolved at no cost.</summary>
    public const string Released = "released";

    /// <summary>Released by the sweep after its TTL; a late settle still charges (the call happened).</summary>
    public const string Expired = "expired";
}

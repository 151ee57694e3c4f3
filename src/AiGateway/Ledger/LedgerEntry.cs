namespace AiGateway.Ledger;

/// <summary>One movement in an account's activity ledger, with the available balance after it.</summary>
public sealed class LedgerEntry
{
    /// <summary>Database-generated, increasing id; the order of the activity ledger.</summary>
    public long Id { get; set; }

    /// <summary>The account moved.</summary>
    public Guid AccountId { get; set; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset At { get; set; }

    /// <summary>One of <see cref="LedgerEntryTypes"/>.</summary>
    public required string Type { get; set; }

    /// <summary>Micro-credits moved (always non-negative; the type says the direction).</summary>
    public long Amount { get; set; }

    /// <summary>Available micro-credits right after the movement.</summary>
    public long AvailableAfter { get; set; }

    /// <summary>The lot involved, if one.</summary>
    public long? LotId { get; set; }

    /// <summary>The hold involved, if one.</summary>
    public long? HoldId { get; set; }

    /// <summary>The charge involved, if one.</summary>
    public long? ChargeId { get; set; }

    /// <summary>The request involved, if one.</summary>
    public string? RequestId { get; set; }

    /// <summary>A short human note (e.g. "overage repaid").</summary>
    public string? Note { get; set; }
}

/// <summary>The kinds of activity-ledger movements.</summary>
public static class LedgerEntryTypes
{
    /// <summary>Credits granted (a new lot).</summary>
    public const string Grant = "grant";
    /// <summary>Credits reserved for a request.</summary>
    public const string Hold = "hold";
    /// <summary>A request charged.</summary>
    public const string Settle = "settle";
    /// <summary>A hold released at no cost.</summary>
    public const string Release = "release";
    /// <summary>A lot expired unspent, or a hold expired unsettled.</summary>
    public const string Expire = "expire";
    /// <summary>The unspent rest of a lot revoked.</summary>
    public const string Revoke = "revoke";
    /// <summary>A correction such as overage debt repaid from a new grant.</summary>
    public const string Adjust = "adjust";
}

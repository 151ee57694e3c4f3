namespace AiGateway.Ledger;

/// <summary>A batch of credits granted to an account at one time, spent in burn-down order until it runs out or expires.</summary>
public sealed class CreditLot
{
    /// <summary>Database-generated id; the last tie-breaker of the burn-down order.</summary>
    public long Id { get; set; }

    /// <summary>The account the credits belong to.</summary>
    public Guid AccountId { get; set; }

    /// <summary>One of <see cref="CreditKinds"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>Micro-credits granted.</summary>
    public long Amount { get; set; }

    /// <summary>Micro-credits still spendable (while unexpired).</summary>
    public long Remaining { get; set; }

    /// <summary>Micro-credits spent by charges or taken to repay overage debt.</summary>
    public long Consumed { get; set; }

    /// <summary>Micro-credits that expired unspent (recorded when the expiry is noticed).</summary>
    public long Expired { get; set; }

    /// <summary>Micro-credits revoked unspent by an admin.</summary>
    public long Revoked { get; set; }

    /// <summary>From when the credits count.</summary>
    public DateTimeOffset EffectiveAt { get; set; }

    /// <summary>The first instant the credits no longer count (exclusive); null never expires.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>Why the credits were granted, shown in the credits log.</summary>
    public required string Reason { get; set; }

    /// <summary>Where the grant came from, e.g. "plan:pro" or an invoice id.</summary>
    public string? SourceRef { get; set; }

    /// <summary>Caller-chosen key that makes the grant idempotent; unique per account.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Comma list of model patterns (exact or trailing <c>*</c>) the lot may pay for; null pays for any model.</summary>
    public string? ModelScope { get; set; }

    /// <summary>Comma list of modalities (<c>text</c>, <c>image</c>, <c>video</c>, <c>audio</c>) the lot may pay for; null pays for any.</summary>
    public string? ModalityScope { get; set; }

    /// <summary>Hash of the grant request's parameters, to tell a repeat of <see cref="IdempotencyKey"/> from a reuse; null when not given.</summary>
    public string? Fingerprint { get; set; }

    /// <summary>When the lot row was written.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

namespace AiGateway.Ledger;

/// <summary>Per-account ledger totals; its row is also the lock that serializes an account's movements.</summary>
public sealed class LedgerAccountState
{
    /// <summary>The account (primary key).</summary>
    public Guid AccountId { get; set; }

    /// <summary>Micro-credits held by active holds.</summary>
    public long Held { get; set; }

    /// <summary>Outstanding overage debt in micro-credits, repaid first by the next grants.</summary>
    public long Overage { get; set; }

    /// <summary>Last change.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

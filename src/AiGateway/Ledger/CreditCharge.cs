namespace AiGateway.Ledger;

/// <summary>A debit of an account for one request; its allocations say which lots paid for it.</summary>
public sealed class CreditCharge
{
    /// <summary>Database-generated id.</summary>
    public long Id { get; set; }

    /// <summary>The account charged.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The request charged; unique, so a request is charged at most once.</summary>
    public required string RequestId { get; set; }

    /// <summary>The hold the charge settled, if it came through one.</summary>
    public long? HoldId { get; set; }

    /// <summary>Micro-credits charged in total (lots + overage).</summary>
    public long Amount { get; set; }

    /// <summary>The part of <see cref="Amount"/> the lots could not cover, recorded as debt.</summary>
    public long Overage { get; set; }

    /// <summary>When it was charged.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The part of a charge paid by one lot, or by overage debt when <see cref="LotId"/> is null.</summary>
public sealed class ChargeAllocation
{
    /// <summary>Database-generated id.</summary>
    public long Id { get; set; }

    /// <summary>The charge this part belongs to.</summary>
    public long ChargeId { get; set; }

    /// <summary>The lot debited, or null for the overage (debt) part.</summary>
    public long? LotId { get; set; }

    /// <summary>Micro-credits.</summary>
    public long Amount { get; set; }
}

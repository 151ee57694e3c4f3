namespace AiGateway.Ledger;

/// <summary>
/// A block of an account's credits taken by one gateway instance, so its calls can hold credits in memory instead of
/// writing a hold row each. Until <see cref="ExpiresAt"/> the amount counts as held for everyone else; the owning
/// instance renews it while it lives, so a dead instance's lease returns to the account by itself.
/// </summary>
public sealed class CreditLease
{
    /// <summary>The account whose credits are leased.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The gateway instance holding the lease (<c>Ledger:InstanceId</c>, or derived and persisted at start-up).</summary>
    public required string InstanceId { get; set; }

    /// <summary>Micro-credits leased and not yet charged.</summary>
    public long Amount { get; set; }

    /// <summary>The lease stops counting at this instant unless renewed.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Renewals never extend the lease past this: the lots it was sized from are valid until then.</summary>
    public DateTimeOffset BackedUntil { get; set; }

    /// <summary>Set by another instance whose exact hold was refused: the holder returns its unused part at its next refresh.</summary>
    public bool Recall { get; set; }

    /// <summary>Last change.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

namespace AiGateway.Ledger;

/// <summary>
/// The calls one gateway instance admitted against its credit leases in one batch, durable before any of them is
/// forwarded: if the instance dies before their records are stored, whoever resolves the marker (the instance itself
/// at restart, or the sweep on any instance once <see cref="ExpiresAt"/> passes) stores each call without a record as
/// <c>interrupted</c>. The owning instance renews the row with its leases and deletes it once every call is recorded.
/// </summary>
public sealed class LeaseAdmission
{
    /// <summary>Database-generated id.</summary>
    public long Id { get; set; }

    /// <summary>The gateway instance that admitted the calls.</summary>
    public required string InstanceId { get; set; }

    /// <summary>The marker may be resolved by any instance after this instant unless its owner renewed it.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>JSON array of the calls' interrupted records (status 0, usage source <c>interrupted</c>, nothing charged).</summary>
    public required string Records { get; set; }

    /// <summary>When the batch was written.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

namespace AiGateway.Accounts;

/// <summary>A gateway API key of an account. Only its SHA-256 hash and a short visible prefix are stored.</summary>
public sealed class GatewayKey
{
    public Guid Id { get; set; }
    public Guid AccountId { get; set; }
    public required string Name { get; set; }

    /// <summary>The first characters of the key, safe to show in logs and UIs.</summary>
    public required string Prefix { get; set; }

    /// <summary>Lower-case hex SHA-256 of the full key.</summary>
    public required string Hash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
}

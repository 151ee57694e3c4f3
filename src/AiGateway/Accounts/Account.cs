namespace AiGateway.Accounts;

/// <summary>A customer account; its credits are shared by all of its gateway keys.</summary>
public sealed class Account
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The plan name from config/plans.json, or null for no plan.</summary>
    public string? Plan { get; set; }
}

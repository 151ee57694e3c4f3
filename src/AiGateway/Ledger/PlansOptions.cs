namespace AiGateway.Ledger;

/// <summary>The plans from <c>config/plans.json</c> (section <c>Plans</c>), keyed by plan name, case-insensitive.</summary>
public sealed class PlansOptions : Dictionary<string, PlanDefinition>
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Plans";

    /// <summary>Creates an empty, case-insensitive plan table.</summary>
    public PlansOptions() : base(StringComparer.OrdinalIgnoreCase) { }
}

/// <summary>One plan: the credits it issues and how calls of its members are metered.</summary>
public sealed class PlanDefinition
{
    /// <summary>Credits issued each UTC calendar month (expire at the month's end; no rollover).</summary>
    public decimal MonthlyCredits { get; set; }

    /// <summary>Credits issued each UTC day (expire at the day's end; do not accumulate).</summary>
    public decimal DailyCredits { get; set; }

    /// <summary><c>overage</c> (charge in full, shortfall becomes debt) or <c>clamp</c> (metering caps output to what is affordable).</summary>
    public string OveragePolicy { get; set; } = OveragePolicies.Overage;

    /// <summary>Model names or trailing-* wildcards that cost members nothing (calls are still recorded).</summary>
    public List<string> UnlimitedModels { get; set; } = [];

    /// <summary>Credits issued once per account when it first joins a plan (idempotency key <c>welcome:{account}</c>).</summary>
    public PlanGrant? Welcome { get; set; }

    /// <summary>Grants repeated every day, week or month while the account is on the plan.</summary>
    public List<RecurringPlanGrant> Recurring { get; set; } = [];
}

/// <summary>What happens when a call costs more than its hold.</summary>
public static class OveragePolicies
{
    /// <summary>Charge the full amount; what the lots cannot cover becomes debt repaid first by the next grant.</summary>
    public const string Overage = "overage";

    /// <summary>The metering step caps the request's output tokens so it cannot exceed what is affordable.</summary>
    public const string Clamp = "clamp";
}

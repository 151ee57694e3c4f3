namespace AiGateway.Ledger;

/// <summary>The kinds of credit lots.</summary>
public static class CreditKinds
{
    /// <summary>Monthly plan credits; expire at the end of the cycle.</summary>
    public const string Plan = "plan";

    /// <summary>Daily credits; refresh each UTC day and do not accumulate.</summary>
    public const string Daily = "daily";

    /// <summary>Purchased add-on packs (30 days by default).</summary>
    public const string Addon = "addon";

    /// <summary>Referral rewards (30 days by default).</summary>
    public const string Referral = "referral";

    /// <summary>One-time bonus or gift, optionally expiring.</summary>
    public const string Bonus = "bonus";

    /// <summary>Every kind, in the default burn-down priority (plan before add-on).</summary>
    public static readonly IReadOnlyList<string> All = [Plan, Daily, Referral, Bonus, Addon];

    /// <summary>Whether the text names a known kind (exact, lower case).</summary>
    public static bool IsKnown(string? kind) => kind is not null && All.Contains(kind);
}

namespace AiGateway.Api;

/// <summary>The OpenAPI tags the user and admin endpoints are grouped under in <c>/openapi/v1.json</c> and the reference page.</summary>
public static class ApiTags
{
    /// <summary>User: balance, credits log, activity ledger, fixed-price actions.</summary>
    public const string Credits = "Credits";

    /// <summary>User: calls, summaries and the estimate dry run.</summary>
    public const string Usage = "Usage";

    /// <summary>Admin: accounts.</summary>
    public const string AdminAccounts = "Admin: accounts";

    /// <summary>Admin: gateway keys.</summary>
    public const string AdminKeys = "Admin: keys";

    /// <summary>Admin: grants, plans and referrals.</summary>
    public const string AdminCredits = "Admin: credits";

    /// <summary>Admin: any account's balance, logs and usage.</summary>
    public const string AdminViews = "Admin: account views";

    /// <summary>Admin: CSV exports.</summary>
    public const string AdminExports = "Admin: exports";

    /// <summary>Admin: balance notifications (webhook settings, events, deliveries).</summary>
    public const string AdminNotifications = "Admin: notifications";
}

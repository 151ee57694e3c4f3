namespace AiGateway.Notifications;

/// <summary>The event types the gateway sends (the <c>type</c> of a webhook body).</summary>
public static class NotificationEventTypes
{
    /// <summary>A settlement took the account's balance below its low-balance threshold (once per episode).</summary>
    public const string BalanceLow = "balance.low";

    /// <summary>A call was refused for lack of credits, the first refusal since the account last had credits granted.</summary>
    public const string CreditsExhausted = "credits.exhausted";

    /// <summary>A lot with credits left expires within the configured number of days (once per lot).</summary>
    public const string LotExpiring = "lot.expiring";

    /// <summary>A call was refused because its task's budget is used up (once per task and budget).</summary>
    public const string TaskBudgetExhausted = "task_budget.exhausted";

    /// <summary>A plan's credits for a period were issued (once per lot).</summary>
    public const string PlanCreditsIssued = "plan.credits_issued";

    /// <summary>Every type, in documentation order.</summary>
    public static readonly IReadOnlyList<string> All = [BalanceLow, CreditsExhausted, LotExpiring, TaskBudgetExhausted, PlanCreditsIssued];

    /// <summary>Whether <paramref name="type"/> is one of <see cref="All"/>.</summary>
    public static bool IsKnown(string? type) => type is not null && All.Contains(type, StringComparer.Ordinal);
}

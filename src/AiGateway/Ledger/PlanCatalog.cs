using Microsoft.Extensions.Options;

namespace AiGateway.Ledger;

/// <summary>Looks up plans from configuration: their credit amounts, overage policy and unlimited models.</summary>
public sealed class PlanCatalog(IOptionsMonitor<PlansOptions> plans)
{
    /// <summary>The plan with this name, or null when unknown or <paramref name="plan"/> is null.</summary>
    public PlanDefinition? Find(string? plan) =>
        plan is not null && plans.CurrentValue.TryGetValue(plan, out var definition) ? definition : null;

    /// <summary>Whether a plan with this name is configured.</summary>
    public bool Exists(string plan) => plans.CurrentValue.ContainsKey(plan);

    /// <summary>The configured spelling of a plan name (plan names match case-insensitively), or the input when unknown.</summary>
    public string? CanonicalName(string? plan) =>
        plan is null ? null : plans.CurrentValue.Keys.FirstOrDefault(k => k.Equals(plan, StringComparison.OrdinalIgnoreCase)) ?? plan;

    /// <summary>The overage policy for members of the plan; accounts without a plan use <c>overage</c>.</summary>
    public string GetOveragePolicy(string? plan) => Find(plan)?.OveragePolicy ?? OveragePolicies.Overage;

    /// <summary>Whether calls to <paramref name="model"/> cost nothing for members of <paramref name="plan"/>.</summary>
    public bool IsUnlimited(string? plan, string model)
    {
        var definition = Find(plan);
        if (definition is null) return false;
        foreach (var pattern in definition.UnlimitedModels)
        {
            if (pattern.EndsWith('*')
                    ? model.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
                    : model.Equals(pattern, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}

using AiGateway.Ledger;
using AiGateway.Packs;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.Api;

/// <summary>
/// The admin reads the operator console needs beyond the account views: an account's active holds, and the plan and pack
/// catalogs its plan-change and issue-pack forms offer. Read-only; every change still goes through the existing endpoints.
/// </summary>
public static class AdminConsoleApi
{
    /// <summary>The largest page of active holds.</summary>
    public const int MaxHoldPage = 200;

    /// <summary>One active hold: credits reserved for a call in flight (or a video job) until it is settled or released.</summary>
    public sealed record HoldView(long Id, string RequestId, decimal Amount, string? Task, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

    /// <summary>A page of active holds, newest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page.</summary>
    public sealed record HoldPage(IReadOnlyList<HoldView> Items, string? NextCursor);

    /// <summary>One configured plan, as a plan change would apply it.</summary>
    public sealed record PlanView(string Name, decimal MonthlyCredits, decimal DailyCredits, string OveragePolicy);

    /// <summary>The configured plans, by name.</summary>
    public sealed record PlanList(IReadOnlyList<PlanView> Plans);

    /// <summary>Maps the endpoints on the (already secured) <c>/admin</c> group.</summary>
    public static RouteGroupBuilder MapAdminConsoleApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/accounts/{id:guid}/holds", ListHolds)
            .WithName("ListActiveHolds").WithSummary("An account's active holds (credits reserved for calls in flight), newest first")
            .WithTags(ApiTags.AdminViews);
        admin.MapGet("/plans", ListPlans)
            .WithName("ListPlans").WithSummary("The configured plans (names, credits, overage policy)").WithTags(ApiTags.AdminCredits);
        admin.MapGet("/packs", PacksApi.ListPacks)
            .WithName("ListPacksAdmin").WithSummary("The credit-pack catalog (same shape as GET /v1/credits/packs)").WithTags(ApiTags.AdminCredits);
        return admin;
    }

    private static async Task<Results<Ok<HoldPage>, ProblemHttpResult>> ListHolds(
        Guid id, LedgerDbContext db, string? cursor, int? limit, CancellationToken ct)
    {
        if (QueryArguments.Page(cursor, limit, 50, MaxHoldPage, out var before, out var size) is { } bad) return bad;
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        var query = db.CreditHolds.AsNoTracking().Where(h => h.AccountId == id && h.Status == HoldStatuses.Active);
        if (before is { } b) query = query.Where(h => h.Id < b);
        // Projected so the stored interrupted-call record (a JSON blob) is never read for a list.
        var rows = await query.OrderByDescending(h => h.Id)
            .Select(h => new { h.Id, h.RequestId, h.Amount, h.Task, h.CreatedAt, h.ExpiresAt })
            .Take(size + 1).ToListAsync(ct);
        var items = rows.Take(size)
            .Select(h => new HoldView(h.Id, h.RequestId, new Credits(h.Amount).ToDecimal(), h.Task, h.CreatedAt, h.ExpiresAt)).ToList();
        return TypedResults.Ok(new HoldPage(items,
            rows.Count > size ? items[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null));
    }

    private static Ok<PlanList> ListPlans(IOptionsMonitor<PlansOptions> plans) =>
        TypedResults.Ok(new PlanList(plans.CurrentValue
            .OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase)
            .Select(p => new PlanView(p.Key, p.Value.MonthlyCredits, p.Value.DailyCredits, p.Value.OveragePolicy)).ToList()));
}

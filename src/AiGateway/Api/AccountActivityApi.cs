using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AiGateway.Api;

/// <summary>User endpoints for the caller's activity ledger and usage summary; every query is scoped to the key's account.</summary>
public static class AccountActivityApi
{
    /// <summary>Adds <c>GET /ledger</c> and <c>GET /usage/summary</c> to the (already authenticated) <c>/v1/credits</c> group.</summary>
    public static RouteGroupBuilder MapAccountActivityApi(this RouteGroupBuilder credits)
    {
        credits.MapGet("/ledger", GetLedger)
            .WithName("GetLedger").WithSummary("The caller's activity ledger (every credit movement), newest first").WithTags(ApiTags.Credits);
        credits.MapGet("/usage/summary", GetSummary)
            .WithName("GetUsageSummary").WithSummary("The caller's usage totals by day, model, key or feature").WithTags(ApiTags.Usage);
        return credits;
    }

    private static async Task<Results<Ok<LedgerPage>, ProblemHttpResult>> GetLedger(
        HttpContext context, LedgerDbContext db, string? type, DateTimeOffset? from, DateTimeOffset? to, string? cursor, int? limit,
        CancellationToken ct)
    {
        var account = context.GetCallerAccount()!.AccountId;
        if (QueryArguments.Page(cursor, limit, 50, AccountQueries.MaxLedgerPage, out var before, out var size) is { } badPage) return badPage;
        if (QueryArguments.Range(from, to) is { } badRange) return badRange;
        if (AccountQueries.LedgerTypes(type, out var types) is { } badType) return badType;
        return TypedResults.Ok(await AccountQueries.LedgerPageAsync(db, account, types, from, to, before, size, ct));
    }

    private static async Task<Results<Ok<UsageSummary>, ProblemHttpResult>> GetSummary(
        HttpContext context, LedgerDbContext db, TimeProvider time, DateTimeOffset? from, DateTimeOffset? to, string? groupBy,
        int? tzOffset, CancellationToken ct)
    {
        var account = context.GetCallerAccount()!.AccountId;
        return await SummaryAsync(db, account, time, from, to, groupBy, tzOffset, ct);
    }

    /// <summary>Validates the summary arguments and computes it; shared with the admin API.</summary>
    internal static async Task<Results<Ok<UsageSummary>, ProblemHttpResult>> SummaryAsync(
        LedgerDbContext db, Guid account, TimeProvider time, DateTimeOffset? from, DateTimeOffset? to, string? groupBy, int? tzOffset,
        CancellationToken ct)
    {
        var group = string.IsNullOrEmpty(groupBy) ? "day" : groupBy;
        if (!AccountQueries.GroupBys.Contains(group))
        {
            return QueryArguments.Invalid($"groupBy must be one of {string.Join(", ", AccountQueries.GroupBys)}.");
        }
        // Real offsets run from UTC−12:00 to UTC+14:00.
        if (tzOffset is < -720 or > 840) return QueryArguments.Invalid("tzOffset must be minutes between -720 and 840.");
        if (QueryArguments.BoundedRange(from, to, time.GetUtcNow(), out var start, out var end) is { } badRange) return badRange;
        return TypedResults.Ok(await AccountQueries.SummaryAsync(db, account, start, end, group, tzOffset ?? 0, ct));
    }
}

using AiGateway.Ledger;
using AiGateway.Ledger.Api;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Api;

/// <summary>Admin read endpoints for operators: find accounts, and see any account's keys, balance, credits log, ledger and usage.</summary>
public static class AdminAccountViewsApi
{
    /// <summary>The largest page of the account list.</summary>
    public const int MaxAccountPage = 200;

    /// <summary>The largest page of an account's key list.</summary>
    public const int MaxKeyPage = 500;

    /// <summary>Maps the endpoints on the (already secured) <c>/admin</c> group.</summary>
    public static RouteGroupBuilder MapAdminAccountViewsApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/accounts", ListAccounts)
            .WithName("ListAccounts").WithSummary("Find accounts by name fragment, id or key prefix; creation order, cursor-paged").WithTags(ApiTags.AdminAccounts);
        admin.MapGet("/accounts/{id:guid}/keys", ListKeys)
            .WithName("ListKeys").WithSummary("An account's keys (prefixes only, never hashes or keys)").WithTags(ApiTags.AdminKeys);
        admin.MapGet("/accounts/{id:guid}/balance", GetBalance)
            .WithName("GetAccountBalance").WithSummary("An account's balance by lot (same shape as GET /v1/credits)").WithTags(ApiTags.AdminViews);
        admin.MapGet("/accounts/{id:guid}/log", GetCreditsLog)
            .WithName("GetAccountCreditsLog").WithSummary("An account's credit acquisitions (same shape as GET /v1/credits/log)").WithTags(ApiTags.AdminViews);
        admin.MapGet("/accounts/{id:guid}/ledger", GetLedger)
            .WithName("GetAccountLedger").WithSummary("An account's activity ledger (same shape as GET /v1/credits/ledger)").WithTags(ApiTags.AdminViews);
        admin.MapGet("/accounts/{id:guid}/usage", GetUsage)
            .WithName("GetAccountUsage").WithSummary("An account's calls (same shape as GET /v1/credits/usage)").WithTags(ApiTags.AdminViews);
        admin.MapGet("/accounts/{id:guid}/usage/summary", GetSummary)
            .WithName("GetAccountUsageSummary").WithSummary("An account's usage summary (same shape as GET /v1/credits/usage/summary)").WithTags(ApiTags.AdminViews);
        return admin;
    }

    private static async Task<Results<Ok<AccountListPage>, ProblemHttpResult>> ListAccounts(
        LedgerDbContext db, string? search, string? cursor, int? limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxAccountPage) return QueryArguments.Invalid($"limit must be between 1 and {MaxAccountPage}.");
        Guid? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!Guid.TryParse(cursor, out var c)) return QueryArguments.Invalid("cursor is invalid; pass the nextCursor of the previous page.");
            after = c;
        }
        var size = limit ?? 50;
        var query = db.Accounts.AsNoTracking();
        var term = search?.Trim();
        if (!string.IsNullOrEmpty(term))
        {
            if (term.Length > 200) return QueryArguments.Invalid("search is at most 200 characters.");
            if (Guid.TryParse(term, out var id))
            {
                query = query.Where(a => a.Id == id);
            }
            else
            {
                // A name fragment (case-insensitive on both databases) or the visible prefix of one of the account's keys.
                var lower = term.ToLowerInvariant();
                query = query.Where(a => a.Name.ToLower().Contains(lower) ||
                                         db.GatewayKeys.Any(k => k.AccountId == a.Id && k.Prefix.StartsWith(term)));
            }
        }
        // Account ids are version-7 GUIDs, so id order is creation order and a stable keyset.
        if (after is { } a0) query = query.Where(a => a.Id.CompareTo(a0) > 0);
        var rows = await query.OrderBy(a => a.Id).Take(size + 1).ToListAsync(ct);
        var items = rows.Take(size).Select(a => new AccountListItem(a.Id, a.Name, a.Plan, a.CreatedAt)).ToList();
        return TypedResults.Ok(new AccountListPage(items, rows.Count > size ? items[^1].Id.ToString() : null));
    }

    private static async Task<Results<Ok<KeyPage>, ProblemHttpResult>> ListKeys(
        Guid id, LedgerDbContext db, string? cursor, int? limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxKeyPage) return QueryArguments.Invalid($"limit must be between 1 and {MaxKeyPage}.");
        Guid? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!Guid.TryParse(cursor, out var c)) return QueryArguments.Invalid("cursor is invalid; pass the nextCursor of the previous page.");
            after = c;
        }
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        var size = limit ?? 100;
        var query = db.GatewayKeys.AsNoTracking().Where(k => k.AccountId == id);
        if (after is { } a0) query = query.Where(k => k.Id.CompareTo(a0) > 0);
        // Projected so the hash never leaves the database query.
        var rows = await query.OrderBy(k => k.Id)
            .Select(k => new KeyView(k.Id, k.Name, k.Prefix, k.CreatedAt, k.LastUsedAt, k.RevokedAt))
            .Take(size + 1).ToListAsync(ct);
        var items = rows.Take(size).ToList();
        return TypedResults.Ok(new KeyPage(items, rows.Count > size ? items[^1].Id.ToString() : null));
    }

    private static async Task<Results<Ok<CreditsApi.BalanceResponse>, ProblemHttpResult>> GetBalance(
        Guid id, CreditLedger ledger, CancellationToken ct)
    {
        var balance = await ledger.GetBalanceAsync(id, cancellationToken: ct);
        if (balance is null) return QueryArguments.AccountNotFound(id);
        return TypedResults.Ok(new CreditsApi.BalanceResponse(
            balance.Available.ToDecimal(), balance.Held.ToDecimal(), balance.Overage.ToDecimal(), balance.Exhausted, balance.Plan,
            balance.Lots.Select(l => new CreditsApi.LotResponse(l.Id, l.Kind, l.Amount.ToDecimal(), l.Remaining.ToDecimal(), l.ExpiresAt,
                l.EffectiveAt, l.Reason, l.Models, l.Modalities)).ToList()));
    }

    private static async Task<Results<Ok<CreditsApi.LogResponse>, ProblemHttpResult>> GetCreditsLog(
        Guid id, LedgerDbContext db, CreditLedger ledger, string? cursor, int? limit, CancellationToken ct)
    {
        if (QueryArguments.Page(cursor, limit, CreditsApi.DefaultLogLimit, CreditLedger.MaxLogPageSize, out var before, out var size) is { } bad) return bad;
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        var page = await ledger.GetCreditsLogAsync(id, before, size, ct);
        return TypedResults.Ok(new CreditsApi.LogResponse(
            page.Items.Select(l => new CreditsApi.LogItemResponse(l.Id, l.Reason, l.Kind, l.Amount.ToDecimal(), l.EffectiveAt, l.ExpiresAt)).ToList(),
            page.NextCursor?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static async Task<Results<Ok<LedgerPage>, ProblemHttpResult>> GetLedger(
        Guid id, LedgerDbContext db, string? type, DateTimeOffset? from, DateTimeOffset? to, string? cursor, int? limit, CancellationToken ct)
    {
        if (QueryArguments.Page(cursor, limit, 50, AccountQueries.MaxLedgerPage, out var before, out var size) is { } badPage) return badPage;
        if (QueryArguments.Range(from, to) is { } badRange) return badRange;
        if (AccountQueries.LedgerTypes(type, out var types) is { } badType) return badType;
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        return TypedResults.Ok(await AccountQueries.LedgerPageAsync(db, id, types, from, to, before, size, ct));
    }

    private static async Task<Results<Ok<UsageApi.UsagePage>, ProblemHttpResult>> GetUsage(
        Guid id, LedgerDbContext db, DateTimeOffset? from, DateTimeOffset? to, string? model, string? feature, int? status,
        string? cursor, int? limit, CancellationToken ct)
    {
        if (QueryArguments.Page(cursor, limit, 50, AccountQueries.MaxUsagePage, out var before, out var size) is { } badPage) return badPage;
        if (QueryArguments.Range(from, to) is { } badRange) return badRange;
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        return TypedResults.Ok(await AccountQueries.UsagePageAsync(AccountQueries.Calls(db, id, from, to, model, feature, status), before, size, ct));
    }

    private static async Task<Results<Ok<UsageSummary>, ProblemHttpResult>> GetSummary(
        Guid id, LedgerDbContext db, TimeProvider time, DateTimeOffset? from, DateTimeOffset? to, string? groupBy, int? tzOffset,
        CancellationToken ct)
    {
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);
        return await AccountActivityApi.SummaryAsync(db, id, time, from, to, groupBy, tzOffset, ct);
    }
}

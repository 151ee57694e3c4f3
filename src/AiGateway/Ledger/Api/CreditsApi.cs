using AiGateway.Accounts;
using AiGateway.Pricing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AiGateway.Ledger.Api;

/// <summary>User endpoints for the caller's own balance and credits log; mounted on a group that requires a gateway key.</summary>
public static class CreditsApi
{
    /// <summary>The default page size of the credits log.</summary>
    public const int DefaultLogLimit = 50;

    /// <summary>Adds <c>GET /</c> (balance by lot) and <c>GET /log</c> (acquisitions, cursor-paged).</summary>
    public static RouteGroupBuilder MapCreditsApi(this RouteGroupBuilder credits)
    {
        credits.MapGet("/", GetBalance)
            .WithName("GetBalance").WithSummary("The caller's balance: available, held, overage and every lot").WithTags(AiGateway.Api.ApiTags.Credits);
        credits.MapGet("/log", GetLog)
            .WithName("GetCreditsLog").WithSummary("The caller's credit acquisitions (grants, plan credits, referrals), newest first").WithTags(AiGateway.Api.ApiTags.Credits);
        return credits;
    }

    /// <summary>The caller's balance in credits.</summary>
    public sealed record BalanceResponse(decimal Available, decimal Held, decimal Overage, bool Exhausted, string? Plan, IReadOnlyList<LotResponse> Lots);

    /// <summary>One lot in credits; <c>models</c> / <c>modalities</c> are null when the lot pays for anything.</summary>
    public sealed record LotResponse(
        long Id, string Kind, decimal Amount, decimal Remaining, DateTimeOffset? ExpiresAt, DateTimeOffset EffectiveAt, string Reason,
        IReadOnlyList<string>? Models, IReadOnlyList<string>? Modalities);

    /// <summary>One page of acquisitions; pass <c>nextCursor</c> as <c>cursor</c> for the next page.</summary>
    public sealed record LogResponse(IReadOnlyList<LogItemResponse> Items, string? NextCursor);

    /// <summary>One acquisition.</summary>
    public sealed record LogItemResponse(long Id, string Reason, string Kind, decimal Amount, DateTimeOffset EffectiveAt, DateTimeOffset? ExpiresAt);

    internal static async Task<Results<Ok<BalanceResponse>, UnauthorizedHttpResult, ProblemHttpResult>> GetBalance(
        HttpContext context, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var caller = context.GetCallerAccount();
        if (caller is null) return TypedResults.Unauthorized();
        var balance = await ledger.GetBalanceAsync(caller.AccountId, cancellationToken: cancellationToken);
        if (balance is null)
            return TypedResults.Problem("Account not found.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
        return TypedResults.Ok(new BalanceResponse(
            balance.Available.ToDecimal(), balance.Held.ToDecimal(), balance.Overage.ToDecimal(), balance.Exhausted, balance.Plan,
            balance.Lots.Select(ToResponse).ToList()));
    }

    internal static async Task<Results<Ok<LogResponse>, UnauthorizedHttpResult, ProblemHttpResult>> GetLog(
        HttpContext context, CreditLedger ledger, string? cursor, int? limit, CancellationToken cancellationToken)
    {
        var caller = context.GetCallerAccount();
        if (caller is null) return TypedResults.Unauthorized();
        long? before = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!long.TryParse(cursor, out var parsed) || parsed <= 0)
                return TypedResults.Problem("cursor is invalid.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
            before = parsed;
        }
        if (limit is < 1 or > CreditLedger.MaxLogPageSize)
            return TypedResults.Problem($"limit must be between 1 and {CreditLedger.MaxLogPageSize}.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
        var page = await ledger.GetCreditsLogAsync(caller.AccountId, before, limit ?? DefaultLogLimit, cancellationToken);
        return TypedResults.Ok(new LogResponse(
            page.Items.Select(l => new LogItemResponse(l.Id, l.Reason, l.Kind, l.Amount.ToDecimal(), l.EffectiveAt, l.ExpiresAt)).ToList(),
            page.NextCursor?.ToString()));
    }

    private static LotResponse ToResponse(LotView lot) =>
        new(lot.Id, lot.Kind, lot.Amount.ToDecimal(), lot.Remaining.ToDecimal(), lot.ExpiresAt, lot.EffectiveAt, lot.Reason,
            lot.Models, lot.Modalities);
}

using System.Text.Json.Serialization;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Proxy;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace AiGateway.Api;

/// <summary>User endpoints for per-call usage, the pre-call estimate dry run and fixed-price actions.</summary>
public static class UsageApi
{
    /// <summary>The largest usage page.</summary>
    public const int MaxPageSize = 500;

    /// <summary>One call as the usage API shows it (credits as decimal numbers).</summary>
    public sealed record CallView(
        string RequestId, string Model, string? PricedModel, string Provider, string Operation, bool Stream,
        long InputTokens, long CachedInputTokens, long CacheWriteInputTokens, long OutputTokens, long ReasoningTokens,
        int Images, int VideoSeconds, int AudioUses, decimal Credits, decimal Estimate, decimal Overage, int Status,
        string UsageSource, bool Clamped, bool Unlimited, int Attempts, string? Feature, string? Task, string? Error,
        DateTimeOffset StartedAt, int DurationMs, bool UsageClamped)
    {
        /// <summary>Maps a stored record.</summary>
        public static CallView From(CallRecord r) => new(r.RequestId, r.Model, r.PricedModel, r.Provider, r.Operation, r.Stream,
            r.InputTokens, r.CachedInputTokens, r.CacheWriteInputTokens, r.OutputTokens, r.ReasoningTokens, r.Images, r.VideoSeconds,
            r.AudioUses, new Credits(r.ChargedMicro).ToDecimal(), new Credits(r.EstimateMicro).ToDecimal(), new Credits(r.OverageMicro).ToDecimal(),
            r.StatusCode, r.UsageSource, r.Clamped, r.Unlimited, r.AttemptCount, r.Feature, r.Task, r.Error, r.StartedAt, r.DurationMs, r.UsageClamped);
    }

    /// <summary>A page of calls, newest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page (null on the last).</summary>
    public sealed record UsagePage(IReadOnlyList<CallView> Items, string? NextCursor)
    {
        /// <summary>Deprecated alias of <see cref="NextCursor"/> (the name this page used before every page said <c>nextCursor</c>); kept for one release.</summary>
        [Obsolete("Use NextCursor; 'next' is written for one more release only.")]
        public string? Next => NextCursor;
    }

    /// <summary>The estimate dry run's answer.</summary>
    /// <remarks><c>outputTokens</c>/<c>credits</c> are the expected output and cost; <c>outputLimit</c>/<c>held</c> the worst case a call would hold.</remarks>
    public sealed record EstimateView(string Model, string PricedModel, long InputTokens, long OutputTokens, decimal Credits,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? Available,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? OutputLimit, decimal Held);

    /// <summary>The answer of a fixed-price action charge.</summary>
    public sealed record ActionView(string Action, decimal Credits, decimal Charged, decimal Remaining, bool Repeated);

    /// <summary>Maps the endpoints on the (already authenticated) <c>/v1/credits</c> group.</summary>
    public static RouteGroupBuilder MapUsageApi(this RouteGroupBuilder credits)
    {
        credits.MapGet("/usage", GetUsage)
            .WithName("GetUsage").WithSummary("The caller's calls, newest first, cursor-paged").WithTags(ApiTags.Usage);
        credits.MapGet("/calls/{requestId}", GetCall)
            .WithName("GetCall").WithSummary("One call by its X-Request-Id").WithTags(ApiTags.Usage);
        credits.MapPost("/estimate/{**providerPath}", Estimate)
            .WithName("Estimate").WithSummary("Dry run: what a provider request would be estimated at, without calling the provider")
            .WithDescription("Send the body a client would send to the provider path (e.g. openai/v1/chat/completions). Errors use that provider's error shape.")
            .WithTags(ApiTags.Usage)
            .Accepts<System.Text.Json.JsonElement>("application/json")
            .Produces<EstimateView>();
        credits.MapPost("/actions/{name}", ChargeAction)
            .WithName("ChargeAction").WithSummary("Charge a fixed-price action once per Idempotency-Key").WithTags(ApiTags.Credits)
            .Produces<ActionView>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return credits;
    }

    private static async Task<Results<Ok<UsagePage>, ProblemHttpResult>> GetUsage(
        HttpContext context, LedgerDbContext db, DateTimeOffset? from, DateTimeOffset? to, string? model, string? feature,
        string? task, int? limit, string? cursor, CancellationToken ct)
    {
        var account = context.GetCallerAccount()!.AccountId;
        var size = Math.Clamp(limit ?? 50, 1, MaxPageSize);
        long? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!long.TryParse(cursor, out var c)) return QueryArguments.Invalid("cursor is invalid; pass the nextCursor of the previous page.");
            after = c;
        }
        return TypedResults.Ok(await AccountQueries.UsagePageAsync(
            AccountQueries.Calls(db, account, from, to, model, feature, null, task), after, size, ct));
    }

    private static async Task<Results<Ok<CallView>, ProblemHttpResult>> GetCall(HttpContext context, string requestId, LedgerDbContext db, CancellationToken ct)
    {
        var account = context.GetCallerAccount()!.AccountId;
        // Scoped to the caller's account: another account's request id answers 404, exactly like an unknown one.
        var record = await db.CallRecords.AsNoTracking().FirstOrDefaultAsync(r => r.RequestId == requestId && r.AccountId == account, ct);
        return record is null ? QueryArguments.NotFound($"No call {requestId} on this account.") : TypedResults.Ok(CallView.From(record));
    }

    private static async Task<IResult> Estimate(
        HttpContext context, string providerPath, IProxyStateLookup proxy, CallEstimator estimator, CreditLedger ledger,
        IOptions<Hosting.GatewayOptions> gateway, CancellationToken ct)
    {
        var (format, rest) = ResolveProviderPath(proxy, providerPath);
        if (format is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "Unknown provider route",
                detail: "Use the path a client would call, e.g. /v1/credits/estimate/openai/v1/chat/completions.");
        }
        var body = await RequestBodyReader.ReadAsync(context, gateway.Value.MaxRequestBodyBytes);
        if (body is null) return ProviderError(format.Value, new GatewayError(GatewayErrorKind.PayloadTooLarge, "The request body is too large."));
        var parse = ProviderRequestParser.Parse(format.Value, rest, context.Request.QueryString.Value, body);
        if (parse.Error is { } invalid) return ProviderError(format.Value, invalid);
        using var request = parse.Request!;
        if (!request.IsMetered)
        {
            return ProviderError(format.Value, new GatewayError(GatewayErrorKind.BadRequest, "This endpoint is not metered; it costs nothing."));
        }
        var estimated = estimator.Estimate(request);
        if (estimated.Error is { } error) return ProviderError(format.Value, error);
        var e = estimated.Estimate!;
        var balance = await ledger.GetBalanceAsync(context.GetCallerAccount()!.AccountId, cancellationToken: ct);
        return TypedResults.Ok(new EstimateView(request.Model ?? e.Price.Name, e.Price.Name, e.InputTokens, e.OutputTokens,
            e.Credits.ToDecimal(), balance?.Available.ToDecimal(), e.OutputLimit, e.Held.ToDecimal()));
    }

    private static async Task<IResult> ChargeAction(
        HttpContext context, string name, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, PriceBook prices,
        CreditLedger ledger, CancellationToken ct)
    {
        if (!prices.TryGetAction(name, out var price))
        {
            return TypedResults.Problem(statusCode: 404, title: "Unknown action", detail: $"No fixed-price action '{name}' is configured.");
        }
        if (string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > 200)
        {
            return TypedResults.Problem(statusCode: 400, title: "Idempotency-Key required",
                detail: "Send an Idempotency-Key header (1–200 characters) so a retried request is charged once.");
        }
        var caller = context.GetCallerAccount()!;
        // The key names one charge of one action: reused for another action it is refused, not answered with the first.
        var result = await ledger.ChargeAsync(caller.AccountId, price, $"action:{caller.AccountId:N}:{idempotencyKey}", ct,
            fingerprint: IdempotencyFingerprint.Of("action", name.ToLowerInvariant()));
        if (result.Status == SettleStatus.IdempotencyConflict)
        {
            return TypedResults.Problem(statusCode: 409, title: "Idempotency-Key reused",
                detail: $"The Idempotency-Key '{idempotencyKey}' was already used with different parameters (another action); send a new key for a new charge.");
        }
        if (result.Status == SettleStatus.InsufficientCredits)
        {
            return TypedResults.Problem(statusCode: 402, title: "Insufficient credits",
                detail: $"The action '{name}' costs {price} credits and {result.Available} are available.");
        }
        if (result.Status != SettleStatus.Settled)
        {
            return TypedResults.Problem(statusCode: 409, title: "Action not charged", detail: result.Status.ToString());
        }
        return TypedResults.Ok(new ActionView(name, price.ToDecimal(), result.Charged.ToDecimal(), result.Available.ToDecimal(), result.Repeated));
    }

    /// <summary>Finds the provider route whose prefix starts the path (<c>openai/v1/chat/completions</c> → OpenAi, <c>v1/chat/completions</c>).</summary>
    private static (ProviderFormat? Format, string Remainder) ResolveProviderPath(IProxyStateLookup proxy, string providerPath)
    {
        var slash = providerPath.IndexOf('/');
        var prefix = slash < 0 ? providerPath : providerPath[..slash];
        var rest = slash < 0 ? "" : providerPath[(slash + 1)..];
        foreach (var route in proxy.GetRoutes())
        {
            var path = route.Config.Match.Path;
            // The unified endpoint's routes (/v1/chat/completions) are not a provider path: it picks the provider by model.
            if (path is not null && path.StartsWith("/" + prefix + "/", StringComparison.OrdinalIgnoreCase) &&
                !Unified.ProviderRoutes.IsUnified(route.Config) && GatewayRoute.FormatOf(route.Config) is { } format)
            {
                return (format, rest);
            }
        }
        return (null, rest);
    }

    private static IResult ProviderError(ProviderFormat format, GatewayError error) =>
        Results.Text(System.Text.Encoding.UTF8.GetString(ProviderErrorWriter.ToJson(format, error)), "application/json",
            System.Text.Encoding.UTF8, error.StatusCode);
}

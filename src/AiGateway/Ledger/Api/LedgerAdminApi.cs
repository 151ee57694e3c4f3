using AiGateway.Pricing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AiGateway.Ledger.Api;

/// <summary>Admin endpoints for grants, plans and referrals; mounted by the host on an already-secured group.</summary>
public static class LedgerAdminApi
{
    /// <summary>Adds <c>POST /accounts/{id}/grants</c>, <c>POST /accounts/{id}/plan</c>, <c>POST /referrals</c> and <c>DELETE /grants/{id}</c>.</summary>
    public static RouteGroupBuilder MapLedgerAdminApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/accounts/{id:guid}/grants", CreateGrant);
        admin.MapPost("/accounts/{id:guid}/plan", ChangePlan);
        admin.MapPost("/referrals", GrantReferral);
        admin.MapDelete("/grants/{id:long}", RevokeGrant);
        return admin;
    }

    /// <summary>Body of a grant request; credits as a decimal number.</summary>
    public sealed record GrantRequest(string? Kind, decimal? Credits, DateTimeOffset? ExpiresAt, int? ValidDays, string? Reason, string? IdempotencyKey);

    /// <summary>A grant as returned to admins.</summary>
    public sealed record GrantResponse(
        long Id, Guid AccountId, string Kind, decimal Credits, decimal Remaining, DateTimeOffset EffectiveAt,
        DateTimeOffset? ExpiresAt, string Reason, string? IdempotencyKey, decimal RepaidOverage, bool Repeated);

    /// <summary>Body of a plan change; null removes the plan.</summary>
    public sealed record PlanRequest(string? Plan);

    /// <summary>Body of a referral.</summary>
    public sealed record ReferralRequest(Guid ReferrerAccountId, Guid InviteeAccountId);

    internal static async Task<Results<Created<GrantResponse>, Ok<GrantResponse>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>>> CreateGrant(
        Guid id, GrantRequest request, CreditLedger ledger, CancellationToken cancellationToken)
    {
        if (request.Credits is null) return TypedResults.BadRequest(Problem("credits is required."));
        GrantResult result;
        try
        {
            result = await ledger.GrantAsync(id, request.Kind ?? "", Pricing.Credits.FromDecimal(request.Credits.Value),
                request.ExpiresAt, request.ValidDays, request.Reason ?? "", request.IdempotencyKey, cancellationToken, sourceRef: "admin");
        }
        catch (ArgumentException ex)
        {
            return TypedResults.BadRequest(Problem(ex.Message.Split(" (Parameter")[0]));
        }
        if (result.Status == GrantStatus.UnknownAccount) return TypedResults.NotFound(NotFoundProblem($"Account {id} not found."));
        var lot = result.Lot!;
        var body = new GrantResponse(lot.Id, id, lot.Kind, lot.Amount.ToDecimal(), lot.Remaining.ToDecimal(), lot.EffectiveAt,
            lot.ExpiresAt, lot.Reason, lot.IdempotencyKey, result.RepaidOverage.ToDecimal(), result.Status == GrantStatus.Repeated);
        return result.Status == GrantStatus.Repeated ? TypedResults.Ok(body) : TypedResults.Created($"grants/{lot.Id}", body);
    }

    internal static async Task<Results<Ok<PlanChangeResult>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>>> ChangePlan(
        Guid id, PlanRequest request, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var plan = string.IsNullOrWhiteSpace(request.Plan) ? null : request.Plan;
        var result = await ledger.ChangePlanAsync(id, plan, cancellationToken);
        return result.Status switch
        {
            PlanChangeStatus.UnknownAccount => TypedResults.NotFound(NotFoundProblem($"Account {id} not found.")),
            PlanChangeStatus.UnknownPlan => TypedResults.BadRequest(Problem($"Unknown plan '{plan}'.")),
            _ => TypedResults.Ok(result),
        };
    }

    internal static async Task<Results<Ok<ReferralResult>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>, Conflict<ProblemDetails>>> GrantReferral(
        ReferralRequest request, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var result = await ledger.GrantReferralAsync(request.ReferrerAccountId, request.InviteeAccountId, cancellationToken);
        return result.Status switch
        {
            ReferralStatus.UnknownAccount => TypedResults.NotFound(NotFoundProblem("Referrer or invitee account not found.")),
            ReferralStatus.SelfReferral => TypedResults.BadRequest(Problem("An account cannot refer itself.")),
            ReferralStatus.AlreadyReferred => TypedResults.Conflict(new ProblemDetails
            {
                Status = StatusCodes.Status409Conflict, Title = "Already referred", Detail = "The invitee was already referred by another account.",
            }),
            _ => TypedResults.Ok(result),
        };
    }

    internal static async Task<Results<Ok<RevokeResult>, NotFound<ProblemDetails>>> RevokeGrant(
        long id, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var result = await ledger.RevokeGrantAsync(id, cancellationToken);
        return result.Status == RevokeStatus.NotFound
            ? TypedResults.NotFound(NotFoundProblem($"Grant {id} not found."))
            : TypedResults.Ok(result);
    }

    private static ProblemDetails Problem(string detail) =>
        new() { Status = StatusCodes.Status400BadRequest, Title = "Invalid request", Detail = detail };

    private static ProblemDetails NotFoundProblem(string detail) =>
        new() { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = detail };
}

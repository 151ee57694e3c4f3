using AiGateway.Pricing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AiGateway.Ledger.Api;

/// <summary>Admin endpoints for grants, plans and referrals; mounted by the host on an already-secured group.</summary>
public static class LedgerAdminApi
{
    /// <summary>Adds <c>POST /accounts/{id}/grants</c>, <c>POST /accounts/{id}/plan</c>, <c>POST /referrals</c> and <c>DELETE /grants/{id}</c>.</summary>
    public static RouteGroupBuilder MapLedgerAdminApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/accounts/{id:guid}/grants", CreateGrant)
            .WithName("CreateGrant").WithSummary("Grant credits (a lot of a kind, with expiry and optional model/modality scope); idempotent by idempotencyKey")
            .WithTags(AiGateway.Api.ApiTags.AdminCredits);
        admin.MapPost("/accounts/{id:guid}/plan", ChangePlan)
            .WithName("ChangePlan").WithSummary("Change or remove an account's plan").WithTags(AiGateway.Api.ApiTags.AdminCredits);
        admin.MapPost("/referrals", GrantReferral)
            .WithName("GrantReferral").WithSummary("Grant the referral credits to both accounts (once per invitee)").WithTags(AiGateway.Api.ApiTags.AdminCredits);
        admin.MapDelete("/grants/{id:long}", RevokeGrant)
            .WithName("RevokeGrant").WithSummary("Revoke what is left of a grant").WithTags(AiGateway.Api.ApiTags.AdminCredits);
        return admin;
    }

    /// <summary>Body of a grant request; credits as a decimal number; <c>models</c> / <c>modalities</c> limit what the lot pays for.</summary>
    public sealed record GrantRequest(
        string? Kind, decimal? Credits, DateTimeOffset? ExpiresAt, int? ValidDays, string? Reason, string? IdempotencyKey,
        IReadOnlyList<string>? Models = null, IReadOnlyList<string>? Modalities = null);

    /// <summary>Body of a plan change; null removes the plan.</summary>
    public sealed record PlanRequest(string? Plan);

    /// <summary>Body of a referral.</summary>
    public sealed record ReferralRequest(Guid ReferrerAccountId, Guid InviteeAccountId);

    internal static async Task<Results<Created<GrantResponse>, Ok<GrantResponse>, ProblemHttpResult>> CreateGrant(
        Guid id, GrantRequest request, CreditLedger ledger, CancellationToken cancellationToken)
    {
        if (request.Credits is null) return BadRequest(("credits is required."));
        GrantResult result;
        try
        {
            result = await ledger.GrantAsync(id, request.Kind ?? "", Pricing.Credits.FromDecimal(request.Credits.Value),
                request.ExpiresAt, request.ValidDays, request.Reason ?? "", request.IdempotencyKey, cancellationToken, sourceRef: "admin",
                models: request.Models, modalities: request.Modalities, checkParameters: true);
        }
        catch (ArgumentException ex)
        {
            return BadRequest((ex.Message.Split(" (Parameter")[0]));
        }
        if (result.Status == GrantStatus.UnknownAccount) return NotFound(($"Account {id} not found."));
        if (result.Status == GrantStatus.IdempotencyConflict)
        {
            return TypedResults.Problem(
                $"The idempotencyKey '{request.IdempotencyKey}' was already used for a grant with different parameters on this account; nothing was granted. Send a new key for a new grant.",
                statusCode: StatusCodes.Status409Conflict, title: "Idempotency key reused");
        }
        var body = GrantResponse.From(id, result);
        return result.Status == GrantStatus.Repeated ? TypedResults.Ok(body) : TypedResults.Created($"grants/{body.Id}", body);
    }

    internal static async Task<Results<Ok<PlanChangeResponse>, ProblemHttpResult>> ChangePlan(
        Guid id, PlanRequest request, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var plan = string.IsNullOrWhiteSpace(request.Plan) ? null : request.Plan;
        var result = await ledger.ChangePlanAsync(id, plan, cancellationToken);
        return result.Status switch
        {
            PlanChangeStatus.UnknownAccount => NotFound(($"Account {id} not found.")),
            PlanChangeStatus.UnknownPlan => BadRequest(($"Unknown plan '{plan}'.")),
            _ => TypedResults.Ok(new PlanChangeResponse(Status(result.Status), result.OldPlan, result.NewPlan,
                result.ExpiredCredits.ToDecimal(), result.IssuedLots.Select(l => GrantResponse.From(id, new GrantResult(GrantStatus.Granted, l, Credits.Zero, Credits.Zero))).ToList())),
        };
    }

    internal static async Task<Results<Ok<ReferralResponse>, ProblemHttpResult>> GrantReferral(
        ReferralRequest request, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var result = await ledger.GrantReferralAsync(request.ReferrerAccountId, request.InviteeAccountId, cancellationToken);
        return result.Status switch
        {
            ReferralStatus.UnknownAccount => NotFound(("Referrer or invitee account not found.")),
            ReferralStatus.SelfReferral => BadRequest(("An account cannot refer itself.")),
            ReferralStatus.AlreadyReferred => TypedResults.Problem(
                "The invitee was already referred by another account.", statusCode: StatusCodes.Status409Conflict, title: "Already referred"),
            _ => TypedResults.Ok(new ReferralResponse(Status(result.Status),
                GrantResponse.From(request.ReferrerAccountId, result.Referrer!), GrantResponse.From(request.InviteeAccountId, result.Invitee!))),
        };
    }

    internal static async Task<Results<Ok<RevokeResponse>, ProblemHttpResult>> RevokeGrant(
        long id, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var result = await ledger.RevokeGrantAsync(id, cancellationToken);
        return result.Status == RevokeStatus.NotFound
            ? NotFound(($"Grant {id} not found."))
            : TypedResults.Ok(new RevokeResponse(id, result.AccountId, Status(result.Status), result.Revoked.ToDecimal()));
    }

    // Statuses go out as lower-case words, e.g. "changed", "alreadyreferred".
    private static string Status<T>(T status) where T : struct, Enum => status.ToString().ToLowerInvariant();

    private static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");

    private static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");
}

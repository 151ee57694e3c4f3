using AiGateway.Ledger;
using AiGateway.Ledger.Api;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AiGateway.Packs;

/// <summary>The pack endpoints of the admin API (issue a pack) and the user API (list the catalog).</summary>
public static class PacksApi
{
    /// <summary>Longest admin idempotency key accepted.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>Adds <c>POST /accounts/{id}/packs</c> to the (already secured) admin group.</summary>
    public static RouteGroupBuilder MapPacksAdminApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/accounts/{id:guid}/packs", IssuePack)
            .WithName("IssuePack").WithSummary("Issue a credit pack from the catalog to an account; idempotent by idempotencyKey (required)")
            .WithTags(AiGateway.Api.ApiTags.AdminCredits)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return admin;
    }

    /// <summary>Adds <c>GET /packs</c> to the (already secured) user group.</summary>
    public static RouteGroupBuilder MapPacksUserApi(this RouteGroupBuilder credits)
    {
        credits.MapGet("/packs", ListPacks)
            .WithName("ListPacks").WithSummary("The credit packs on sale (display only: credits, validity, price)").WithTags(AiGateway.Api.ApiTags.Credits);
        return credits;
    }

    /// <summary>Body of an admin pack issue.</summary>
    public sealed record IssuePackRequest(string? PackId, string? IdempotencyKey);

    /// <summary>The pack issued and the lot it became (<c>grant.repeated</c> is true for a repeat of the same key).</summary>
    public sealed record IssuePackResponse(string PackId, GrantResponse Grant);

    /// <summary>The catalog.</summary>
    public sealed record PackListResponse(IReadOnlyList<PackResponse> Packs);

    /// <summary>One pack for display; <c>validDays</c> null means the credits do not expire.</summary>
    public sealed record PackResponse(string Id, string Name, decimal Credits, string Kind, int? ValidDays, decimal Price, string Currency);

    internal static async Task<Results<Created<IssuePackResponse>, Ok<IssuePackResponse>, ProblemHttpResult>> IssuePack(
        Guid id, IssuePackRequest request, PackIssuer issuer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.PackId)) return Problem(StatusCodes.Status400BadRequest, "Invalid request", "packId is required.");
        if (string.IsNullOrWhiteSpace(request.IdempotencyKey) || request.IdempotencyKey.Length > MaxIdempotencyKeyLength)
            return Problem(StatusCodes.Status400BadRequest, "Invalid request", $"idempotencyKey is required (at most {MaxIdempotencyKeyLength} characters).");
        // Own key space: an admin key reused from a plain grant or a Stripe session must not collide with it.
        var result = await issuer.IssueAsync(id, request.PackId, "pack:admin:" + request.IdempotencyKey, cancellationToken);
        return result.Status switch
        {
            PackIssueStatus.UnknownPack => Problem(StatusCodes.Status404NotFound, "Not found", $"Pack '{request.PackId}' is not in the catalog."),
            PackIssueStatus.UnknownAccount => Problem(StatusCodes.Status404NotFound, "Not found", $"Account {id} not found."),
            PackIssueStatus.Conflict => Problem(StatusCodes.Status409Conflict, "Idempotency key reused",
                $"idempotencyKey was already used for another pack or grant on this account ({result.Grant?.Lot?.SourceRef ?? "unknown"})."),
            PackIssueStatus.Repeated => TypedResults.Ok(new IssuePackResponse(result.Pack!.Id, GrantResponse.From(id, result.Grant!))),
            _ => TypedResults.Created($"grants/{result.Grant!.Lot!.Id}", new IssuePackResponse(result.Pack!.Id, GrantResponse.From(id, result.Grant!))),
        };
    }

    internal static Ok<PackListResponse> ListPacks(PackIssuer issuer, IOptions<LedgerOptions> ledgerOptions) =>
        TypedResults.Ok(new PackListResponse(issuer.Catalog.Select(p => new PackResponse(
            p.Id, p.Name, p.Credits, p.Kind,
            // What the ledger will apply: an add-on or referral lot without its own validity takes the ledger default.
            p.ValidDays ?? p.Kind switch
            {
                CreditKinds.Addon => ledgerOptions.Value.AddonValidDays,
                CreditKinds.Referral => ledgerOptions.Value.ReferralValidDays,
                _ => null,
            },
            p.Price, p.Currency)).ToList()));

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title);
}

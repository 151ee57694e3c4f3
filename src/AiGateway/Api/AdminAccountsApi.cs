using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Api;

/// <summary>Admin endpoints for accounts and their gateway keys.</summary>
public static class AdminAccountsApi
{
    /// <summary>Body of <c>POST /admin/accounts</c>.</summary>
    public sealed record CreateAccountRequest(string? Name, string? Plan);

    /// <summary>An account as the admin API returns it.</summary>
    public sealed record AccountResponse(Guid Id, string Name, string? Plan, DateTimeOffset CreatedAt);

    /// <summary>Body of <c>POST /admin/accounts/{id}/keys</c>.</summary>
    public sealed record CreateKeyRequest(string? Name);

    /// <summary>A newly created key; <see cref="Key"/> is the only time the plaintext is ever shown.</summary>
    public sealed record CreatedKeyResponse(Guid Id, Guid AccountId, string Name, string Key, string Prefix, DateTimeOffset CreatedAt);

    /// <summary>Maps the account and key endpoints on the (already secured) admin group.</summary>
    public static RouteGroupBuilder MapAdminAccountsApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/accounts", CreateAccount)
            .WithName("CreateAccount").WithSummary("Create an account (welcome and plan credits are issued at once)").WithTags(ApiTags.AdminAccounts);
        admin.MapGet("/accounts/{id:guid}", GetAccount)
            .WithName("GetAccount").WithSummary("Get an account").WithTags(ApiTags.AdminAccounts);
        admin.MapPost("/accounts/{id:guid}/keys", CreateKey)
            .WithName("CreateKey").WithSummary("Create a gateway key; the plaintext key is shown only in this answer").WithTags(ApiTags.AdminKeys);
        admin.MapDelete("/keys/{id:guid}", RevokeKey)
            .WithName("RevokeKey").WithSummary("Revoke a gateway key (effective within the key cache TTL)").WithTags(ApiTags.AdminKeys);
        return admin;
    }

    private static async Task<Results<Created<AccountResponse>, ProblemHttpResult>> CreateAccount(
        CreateAccountRequest? request, DatabaseWriter writer, CreditLedger ledger, TimeProvider time, CancellationToken ct)
    {
        var name = request?.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid account", detail: "\"name\" is required (1–200 characters).");
        }
        var account = new Account { Id = Guid.CreateVersion7(), Name = name, Plan = request!.Plan, CreatedAt = time.GetUtcNow() };
        await writer.WriteAsync(async db =>
        {
            db.Accounts.Add(account);
            await db.SaveChangesAsync(ct);
        }, ct);
        // Welcome credits and the plan's current credits exist from the start (shown at once in GET /v1/credits).
        await ledger.OnboardAsync(account.Id, ct);
        return TypedResults.Created($"/admin/accounts/{account.Id}", ToResponse(account));
    }

    private static async Task<Results<Ok<AccountResponse>, ProblemHttpResult>> GetAccount(Guid id, LedgerDbContext db, CancellationToken ct)
    {
        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, ct);
        return account is null ? QueryArguments.AccountNotFound(id) : TypedResults.Ok(ToResponse(account));
    }

    private static async Task<Results<Created<CreatedKeyResponse>, ProblemHttpResult>> CreateKey(
        Guid id, CreateKeyRequest? request, LedgerDbContext db, DatabaseWriter writer, GatewayKeyAuthenticator authenticator, TimeProvider time,
        CancellationToken ct)
    {
        var name = string.IsNullOrWhiteSpace(request?.Name) ? "default" : request!.Name!.Trim();
        if (name.Length > 200) return TypedResults.Problem(statusCode: 400, title: "Invalid key name", detail: "At most 200 characters.");
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct)) return QueryArguments.AccountNotFound(id);

        var plaintext = GatewayKeyFormat.NewKey();
        var key = new GatewayKey
        {
            Id = Guid.CreateVersion7(),
            AccountId = id,
            Name = name,
            Prefix = GatewayKeyFormat.PrefixOf(plaintext),
            Hash = GatewayKeyFormat.HashOf(plaintext),
            CreatedAt = time.GetUtcNow(),
        };
        await writer.WriteAsync(async write =>
        {
            write.GatewayKeys.Add(key);
            await write.SaveChangesAsync(ct);
        }, ct);
        // A prefix remembered as unknown (or cached without this key) would refuse the new key for a while: forget it.
        authenticator.Forget(key.Prefix);
        return TypedResults.Created($"/admin/keys/{key.Id}",
            new CreatedKeyResponse(key.Id, id, name, plaintext, key.Prefix, key.CreatedAt));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(
        Guid id, DatabaseWriter writer, GatewayKeyAuthenticator authenticator, TimeProvider time, CancellationToken ct)
    {
        var key = await writer.WriteAsync(async db =>
        {
            var found = await db.GatewayKeys.FirstOrDefaultAsync(k => k.Id == id, ct);
            if (found is null) return null;
            found.RevokedAt ??= time.GetUtcNow();
            await db.SaveChangesAsync(ct);
            return found;
        }, ct);
        if (key is null) return QueryArguments.NotFound($"Key {id} not found.");
        authenticator.Forget(key.Prefix);
        return TypedResults.NoContent();
    }

    private static AccountResponse ToResponse(Account a) => new(a.Id, a.Name, a.Plan, a.CreatedAt);
}

namespace AiGateway.Ledger.Api;

/// <summary>A grant (lot) as returned to admins, in credits.</summary>
public sealed record GrantResponse(
    long Id, Guid AccountId, string Kind, decimal Credits, decimal Remaining, DateTimeOffset EffectiveAt,
    DateTimeOffset? ExpiresAt, string Reason, string? IdempotencyKey, decimal RepaidOverage, bool Repeated,
    IReadOnlyList<string>? Models = null, IReadOnlyList<string>? Modalities = null)
{
    /// <summary>Maps a grant result of an account.</summary>
    public static GrantResponse From(Guid accountId, GrantResult result)
    {
        var lot = result.Lot!;
        return new GrantResponse(lot.Id, accountId, lot.Kind, lot.Amount.ToDecimal(), lot.Remaining.ToDecimal(), lot.EffectiveAt,
            lot.ExpiresAt, lot.Reason, lot.IdempotencyKey, result.RepaidOverage.ToDecimal(), result.Status == GrantStatus.Repeated,
            lot.Models, lot.Modalities);
    }
}

/// <summary>The outcome of a plan change, in credits.</summary>
public sealed record PlanChangeResponse(string Status, string? OldPlan, string? NewPlan, decimal ExpiredCredits, IReadOnlyList<GrantResponse> IssuedLots);

/// <summary>The outcome of a referral.</summary>
public sealed record ReferralResponse(string Status, GrantResponse? Referrer, GrantResponse? Invitee);

/// <summary>The outcome of revoking a grant.</summary>
public sealed record RevokeResponse(long Id, Guid? AccountId, string Status, decimal RevokedCredits);

using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.Options;

namespace AiGateway.Packs;

/// <summary>How issuing a pack ended.</summary>
public enum PackIssueStatus
{
    /// <summary>A new lot was granted.</summary>
    Issued,
    /// <summary>The idempotency key was already used for this pack; the original lot is returned, nothing granted.</summary>
    Repeated,
    /// <summary>The idempotency key was already used for another pack or another grant; nothing granted.</summary>
    Conflict,
    /// <summary>No such pack in the catalog.</summary>
    UnknownPack,
    /// <summary>No such account.</summary>
    UnknownAccount,
}

/// <summary>The outcome of issuing a pack; <see cref="Grant"/> is set for <see cref="PackIssueStatus.Issued"/> and <see cref="PackIssueStatus.Repeated"/>.</summary>
public sealed record PackIssueResult(PackIssueStatus Status, PackDefinition? Pack, GrantResult? Grant);

/// <summary>
/// Issues catalog packs through the ledger's ordinary grant (so overage debt is repaid first and the lot burns down like
/// any other). Exactly-once rests on the grant's per-account unique idempotency key; the lot's source reference
/// <c>pack:{id}</c> tells a repeat of the same pack from a key reused for something else.
/// </summary>
public sealed class PackIssuer(CreditLedger ledger, IOptions<PacksOptions> options)
{
    /// <summary>Prefix of every pack lot's source reference.</summary>
    public const string SourceRefPrefix = "pack:";

    /// <summary>The catalog in display order.</summary>
    public IReadOnlyList<PackDefinition> Catalog => options.Value.Catalog;

    /// <summary>The pack with id <paramref name="packId"/> (case-insensitive), or null.</summary>
    public PackDefinition? Find(string? packId) =>
        string.IsNullOrEmpty(packId) ? null : Catalog.FirstOrDefault(p => string.Equals(p.Id, packId, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Grants <paramref name="packId"/> to <paramref name="accountId"/> once per <paramref name="idempotencyKey"/>
    /// (keys live in the account's grant key space, so callers namespace them, e.g. <c>pack:admin:…</c>).
    /// </summary>
    public async Task<PackIssueResult> IssueAsync(Guid accountId, string? packId, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        var pack = Find(packId);
        if (pack is null) return new PackIssueResult(PackIssueStatus.UnknownPack, null, null);
        var sourceRef = SourceRefPrefix + pack.Id;
        // Bound to the pack by its source reference, not by a parameter fingerprint: a retry after the catalog's credits or
        // validity were edited must still find the original lot instead of failing (or granting the new amount).
        var grant = await ledger.GrantAsync(accountId, pack.Kind, Credits.FromDecimal(pack.Credits), null, pack.ValidDays,
            $"Credit pack: {pack.Name}", idempotencyKey, cancellationToken, sourceRef: sourceRef);
        return grant.Status switch
        {
            GrantStatus.UnknownAccount => new PackIssueResult(PackIssueStatus.UnknownAccount, pack, null),
            GrantStatus.Repeated when !string.Equals(grant.Lot?.SourceRef, sourceRef, StringComparison.Ordinal) =>
                new PackIssueResult(PackIssueStatus.Conflict, pack, grant),
            GrantStatus.Repeated => new PackIssueResult(PackIssueStatus.Repeated, pack, grant),
            GrantStatus.IdempotencyConflict => new PackIssueResult(PackIssueStatus.Conflict, pack, grant),
            GrantStatus.Granted => new PackIssueResult(PackIssueStatus.Issued, pack, grant),
            _ => throw new InvalidOperationException($"Unexpected grant status {grant.Status}."),
        };
    }
}

using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Ledger;

public sealed partial class CreditLedger
{
    /// <summary>
    /// Grants credits as a new lot (repaying overage debt first). Expiry is <paramref name="expiresAt"/>, else
    /// <paramref name="validDays"/> from now, else the kind's default. A repeated <paramref name="idempotencyKey"/>
    /// returns the original lot with <see cref="GrantStatus.Repeated"/>. <paramref name="models"/> / <paramref name="modalities"/>
    /// limit what the lot may pay for (see <see cref="LotScope"/>); null pays for anything. With <paramref name="checkParameters"/>
    /// the key is bound to the request's parameters: reusing it with others gives <see cref="GrantStatus.IdempotencyConflict"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown kind, non-positive amount, empty reason or an expiry not in the future.</exception>
    public async Task<GrantResult> GrantAsync(
        Guid accountId, string kind, Credits amount, DateTimeOffset? expiresAt, int? validDays, string reason,
        string? idempotencyKey, CancellationToken cancellationToken = default, string? sourceRef = null,
        IReadOnlyList<string>? models = null, IReadOnlyList<string>? modalities = null, bool checkParameters = false)
    {
        var now = _time.GetUtcNow();
        var expiry = ResolveExpiry(kind, amount, expiresAt, validDays, reason, now);
        var key = string.IsNullOrEmpty(idempotencyKey) ? null : idempotencyKey;
        var modelScope = LotScope.JoinModels(models);
        var modalityScope = LotScope.JoinModalities(modalities);
        // The request as sent (validDays, not the expiry it resolves to now), so a retry a minute later still matches.
        var fingerprint = checkParameters && key is not null
            ? IdempotencyFingerprint.Of("grant", kind, amount.Micro, expiresAt?.UtcTicks, validDays, reason, sourceRef, modelScope, modalityScope)
            : null;
        var lot = new NewLot(kind, amount.Micro, now, expiry, reason, sourceRef, key, modelScope, modalityScope, fingerprint);
        await using var s = await BeginAsync(cancellationToken);
        var totals = await LockAccountAsync(s, accountId, now.UtcTicks);
        if (totals is null) return new GrantResult(GrantStatus.UnknownAccount, null, Credits.Zero, Credits.Zero);
        var result = await InsertLotAsync(s, accountId, totals, lot, now.UtcTicks);
        await s.CommitAsync();
        return result;
    }

    /// <summary>Checks a grant request and returns its expiry; throws <see cref="ArgumentException"/> with a user-facing message.</summary>
    public DateTimeOffset? ResolveExpiry(string kind, Credits amount, DateTimeOffset? expiresAt, int? validDays, string reason, DateTimeOffset now)
    {
        if (!CreditKinds.IsKnown(kind)) throw new ArgumentException($"kind must be one of: {string.Join(", ", CreditKinds.All)}.", nameof(kind));
        if (amount.Micro <= 0) throw new ArgumentException("credits must be positive.", nameof(amount));
        if (string.IsNullOrWhiteSpace(reason)) throw new ArgumentException("reason is required.", nameof(reason));
        if (expiresAt is not null && validDays is not null) throw new ArgumentException("give expiresAt or validDays, not both.", nameof(validDays));
        if (validDays is <= 0 or > 3650) throw new ArgumentException("validDays must be between 1 and 3650.", nameof(validDays));
        var expiry = expiresAt ?? (validDays is { } days ? now.AddDays(days) : kind switch
        {
            CreditKinds.Addon => now.AddDays(_options.AddonValidDays),
            CreditKinds.Referral => now.AddDays(_options.ReferralValidDays),
            CreditKinds.Plan => LedgerPeriods.MonthEnd(now),
            CreditKinds.Daily => LedgerPeriods.DayEnd(now),
            _ => (DateTimeOffset?)null,
        });
        if (expiry <= now) throw new ArgumentException("expiresAt must be in the future.", nameof(expiresAt));
        return expiry;
    }

    /// <summary>Revokes the unspent remainder of a lot (spent credits stay spent).</summary>
    public async Task<RevokeResult> RevokeGrantAsync(long lotId, CancellationToken cancellationToken = default)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        Guid accountId;
        await using (var reader = await s.ReaderAsync("SELECT account_id FROM credit_lots WHERE id = @id", ("@id", lotId)))
        {
            if (!await reader.ReadAsync()) return new RevokeResult(RevokeStatus.NotFound, Credits.Zero, null);
            accountId = LedgerSession.ReadGuid(reader, 0);
        }
        var totals = (await LockAccountAsync(s, accountId, nowTicks))!;
        var remaining = await s.ScalarAsync("SELECT remaining FROM credit_lots WHERE id = @id", ("@id", lotId)) ?? 0;
        if (remaining == 0) return new RevokeResult(RevokeStatus.NothingLeft, Credits.Zero, accountId);
        await s.ExecuteAsync("UPDATE credit_lots SET remaining = 0, revoked = revoked + @r WHERE id = @id", ("@r", remaining), ("@id", lotId));
        // Leases keep counting as held (calls in flight rely on them); their holders return what they do not use.
        await RecallLeasesAsync(s, accountId, nowTicks, exceptInstance: null);
        var available = await AvailableAsync(s, accountId, totals, nowTicks);
        await AddEntryAsync(s, accountId, nowTicks, LedgerEntryTypes.Revoke, remaining, available, lotId: lotId);
        await s.CommitAsync();
        AccountChanged?.Invoke(accountId);
        return new RevokeResult(RevokeStatus.Revoked, new Credits(remaining), accountId);
    }

    /// <summary>
    /// Grants the referral reward once per invitee: the referrer and the invitee each get a referral lot
    /// (amounts and validity from <see cref="LedgerOptions"/>). Repeating the same pair completes a half-done grant.
    /// </summary>
    public async Task<ReferralResult> GrantReferralAsync(Guid referrerAccountId, Guid inviteeAccountId, CancellationToken cancellationToken = default)
    {
        if (referrerAccountId == inviteeAccountId) return new ReferralResult(ReferralStatus.SelfReferral, null, null);
        await using (var db = await _dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var found = await db.Accounts.CountAsync(a => a.Id == referrerAccountId || a.Id == inviteeAccountId, cancellationToken);
            if (found != 2) return new ReferralResult(ReferralStatus.UnknownAccount, null, null);
        }
        var referrerRef = $"referral:referrer:{referrerAccountId}";
        // The invitee side goes first: its per-account unique key is what makes the reward once per invitee.
        var invitee = await GrantAsync(inviteeAccountId, CreditKinds.Referral, Credits.FromDecimal(_options.InviteeCredits),
            null, _options.ReferralValidDays, "Referral: invited by a friend", $"referral:invitee:{inviteeAccountId}",
            cancellationToken, sourceRef: referrerRef);
        if (invitee.Status == GrantStatus.UnknownAccount) return new ReferralResult(ReferralStatus.UnknownAccount, null, null);
        if (invitee.Status == GrantStatus.Repeated && invitee.Lot!.SourceRef != referrerRef)
            return new ReferralResult(ReferralStatus.AlreadyReferred, null, invitee);
        var referrer = await GrantAsync(referrerAccountId, CreditKinds.Referral, Credits.FromDecimal(_options.ReferrerCredits),
            null, _options.ReferralValidDays, "Referral: invited a friend", $"referral:referrer-of:{inviteeAccountId}",
            cancellationToken, sourceRef: $"referral:invitee:{inviteeAccountId}");
        var status = invitee.Status == GrantStatus.Repeated && referrer.Status == GrantStatus.Repeated
            ? ReferralStatus.Repeated : ReferralStatus.Granted;
        return new ReferralResult(status, referrer, invitee);
    }
}

using AiGateway.Pricing;

namespace AiGateway.Ledger;

/// <summary>How a reserve ended.</summary>
public enum ReserveStatus
{
    /// <summary>The hold was made.</summary>
    Reserved,
    /// <summary>An active hold with this request id already exists; nothing changed.</summary>
    AlreadyReserved,
    /// <summary>Available credits do not cover the amount, or the account is in overage debt.</summary>
    InsufficientCredits,
    /// <summary>No such account.</summary>
    UnknownAccount,
    /// <summary>The request id was already settled, released or expired; it cannot hold again.</summary>
    RequestAlreadyUsed,
    /// <summary>The call's task has charged + holds too much for its budget to take this amount as well; nothing was held.</summary>
    TaskBudgetExceeded,
}

/// <summary>The outcome of <see cref="CreditLedger.ReserveAsync"/>.</summary>
public sealed record ReserveResult(ReserveStatus Status, long? HoldId, Credits Held, Credits Available)
{
    /// <summary>Whether an active hold now exists for the request.</summary>
    public bool Succeeded => Status is ReserveStatus.Reserved or ReserveStatus.AlreadyReserved;
}

/// <summary>How a settle or one-step charge ended.</summary>
public enum SettleStatus
{
    /// <summary>Charged (possibly a repeat: see <see cref="SettleResult.Repeated"/>).</summary>
    Settled,
    /// <summary>The hold had been released; nothing was charged.</summary>
    Released,
    /// <summary>No hold with this request id.</summary>
    NotFound,
    /// <summary>One-step charge only: available credits do not cover the price; nothing was charged.</summary>
    InsufficientCredits,
    /// <summary>One-step charge only: no such account.</summary>
    UnknownAccount,
    /// <summary>One-step charge only: the request id belongs to another account; nothing was charged.</summary>
    RequestIdConflict,
    /// <summary>One-step charge only: the request id (an idempotency key) was used with different parameters; nothing was charged.</summary>
    IdempotencyConflict,
}

/// <summary>The part of a charge one lot paid.</summary>
public sealed record LotAllocation(long LotId, Credits Amount);

/// <summary>The outcome of a settle or one-step charge: what was charged, from which lots, and the balance after.</summary>
public sealed record SettleResult(
    SettleStatus Status,
    Credits Charged,
    Credits Overage,
    IReadOnlyList<LotAllocation> Allocations,
    Credits Available,
    bool Repeated,
    long? ChargeId)
{
    /// <summary>A result that charged nothing.</summary>
    public static SettleResult Nothing(SettleStatus status, Credits available) =>
        new(status, Credits.Zero, Credits.Zero, [], available, false, null);
}

/// <summary>How a release ended.</summary>
public enum ReleaseStatus
{
    /// <summary>The hold was released at no cost.</summary>
    Released,
    /// <summary>It had already been released; nothing changed.</summary>
    AlreadyReleased,
    /// <summary>It had already been settled; nothing changed.</summary>
    AlreadySettled,
    /// <summary>The sweep had already expired it; nothing changed.</summary>
    AlreadyExpired,
    /// <summary>No hold with this request id.</summary>
    NotFound,
}

/// <summary>The outcome of <see cref="CreditLedger.ReleaseAsync"/>.</summary>
public sealed record ReleaseResult(ReleaseStatus Status, Credits Released, Credits Available);

/// <summary>How a grant ended.</summary>
public enum GrantStatus
{
    /// <summary>A new lot was created.</summary>
    Granted,
    /// <summary>The idempotency key was used before; the original lot is returned and nothing changed.</summary>
    Repeated,
    /// <summary>No such account.</summary>
    UnknownAccount,
    /// <summary>The idempotency key was used before with different parameters; nothing changed.</summary>
    IdempotencyConflict,
}

/// <summary>A lot as shown to users and admins.</summary>
public sealed record LotView(
    long Id, string Kind, Credits Amount, Credits Remaining,
    DateTimeOffset EffectiveAt, DateTimeOffset? ExpiresAt, string Reason, string? SourceRef, string? IdempotencyKey,
    IReadOnlyList<string>? Models = null, IReadOnlyList<string>? Modalities = null);

/// <summary>The outcome of a grant.</summary>
public sealed record GrantResult(GrantStatus Status, LotView? Lot, Credits RepaidOverage, Credits Available);

/// <summary>How a referral ended.</summary>
public enum ReferralStatus
{
    /// <summary>Both sides were granted.</summary>
    Granted,
    /// <summary>This referral was already granted; nothing changed.</summary>
    Repeated,
    /// <summary>The invitee was already referred by another account; nothing changed.</summary>
    AlreadyReferred,
    /// <summary>Referrer or invitee does not exist.</summary>
    UnknownAccount,
    /// <summary>An account cannot refer itself.</summary>
    SelfReferral,
}

/// <summary>The outcome of <see cref="CreditLedger.GrantReferralAsync"/>.</summary>
public sealed record ReferralResult(ReferralStatus Status, GrantResult? Referrer, GrantResult? Invitee);

/// <summary>How a plan change ended.</summary>
public enum PlanChangeStatus
{
    /// <summary>The plan changed.</summary>
    Changed,
    /// <summary>The account already had that plan.</summary>
    Unchanged,
    /// <summary>No such account.</summary>
    UnknownAccount,
    /// <summary>No such plan in config/plans.json.</summary>
    UnknownPlan,
}

/// <summary>The outcome of <see cref="CreditLedger.ChangePlanAsync"/>.</summary>
public sealed record PlanChangeResult(
    PlanChangeStatus Status, string? OldPlan, string? NewPlan, Credits ExpiredCredits, IReadOnlyList<LotView> IssuedLots);

/// <summary>How a revoke ended.</summary>
public enum RevokeStatus
{
    /// <summary>The unspent remainder was revoked.</summary>
    Revoked,
    /// <summary>The lot had nothing left to revoke.</summary>
    NothingLeft,
    /// <summary>No such lot.</summary>
    NotFound,
}

/// <summary>The outcome of <see cref="CreditLedger.RevokeGrantAsync"/>.</summary>
public sealed record RevokeResult(RevokeStatus Status, Credits Revoked, Guid? AccountId);

/// <summary>An account's balance: what it can spend now, what is held, its debt, and its lots.</summary>
public sealed record BalanceView(
    Credits Available, Credits Held, Credits Overage, IReadOnlyList<LotView> Lots, string? Plan)
{
    /// <summary>True when AI calls must be refused: nothing available or in overage debt.</summary>
    public bool Exhausted => Available.Micro <= 0 || Overage.Micro > 0;
}

/// <summary>One page of the credits log (acquisitions, newest first).</summary>
public sealed record CreditsLogPage(IReadOnlyList<LotView> Items, long? NextCursor);

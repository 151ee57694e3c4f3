using System.ComponentModel.DataAnnotations;

namespace AiGateway.Ledger;

/// <summary>Settings of the credit ledger, bound from the <c>Ledger</c> configuration section.</summary>
public sealed class LedgerOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Ledger";

    /// <summary>
    /// How long an unsettled hold counts against the balance before the sweep releases it, unless renewed: the gateway
    /// renews the holds of its calls in flight, so this is how long the holds of a crashed instance keep credits.
    /// </summary>
    public TimeSpan HoldTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the holds of calls in flight are renewed (empty: a quarter of <see cref="HoldTtl"/>); at most a third of it.</summary>
    public TimeSpan? HoldRenewInterval { get; set; }

    /// <summary>The renewal period in use.</summary>
    public TimeSpan EffectiveHoldRenewInterval => HoldRenewInterval ?? HoldTtl / 4;

    /// <summary>How often the background job sweeps expired holds and lots and issues plan credits.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Burn-down priority of kinds at equal expiry, first spent first; empty means <see cref="CreditKinds.All"/>.</summary>
    // Empty by default because the configuration binder appends to (rather than replaces) a pre-filled list.
    public List<string> KindPriority { get; set; } = [];

    /// <summary>Default validity of add-on packs in days.</summary>
    [Range(1, 3650)]
    public int AddonValidDays { get; set; } = 30;

    /// <summary>Validity of referral credits in days.</summary>
    [Range(1, 3650)]
    public int ReferralValidDays { get; set; } = 30;

    /// <summary>Credits the referrer receives per invitee.</summary>
    [Range(0, 1_000_000)]
    public decimal ReferrerCredits { get; set; } = 50;

    /// <summary>Credits the invitee receives.</summary>
    [Range(0, 1_000_000)]
    public decimal InviteeCredits { get; set; } = 30;

    /// <summary>Serialize this process's SQLite writers in memory so they queue instead of spinning on SQLITE_BUSY (the database still enforces correctness).</summary>
    public bool SerializeSqliteWritersInProcess { get; set; } = true;

    /// <summary>
    /// SQLite (with <see cref="SerializeSqliteWritersInProcess"/>): consecutive ledger operations share one transaction,
    /// each in its own savepoint, and each returns only after that shared commit (group commit).
    /// </summary>
    public bool SqliteGroupCommit { get; set; } = true;

    /// <summary>The most operations one SQLite group commit carries.</summary>
    [Range(1, 10_000)]
    public int SqliteGroupCommitMaxOperations { get; set; } = 64;

    /// <summary>The kind priority actually used.</summary>
    public IReadOnlyList<string> EffectiveKindPriority => KindPriority.Count > 0 ? KindPriority : CreditKinds.All;
}

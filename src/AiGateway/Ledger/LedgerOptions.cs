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

    /// <summary>
    /// SQLite: the most ledger operations one group commit carries (consecutive operations of this process share one
    /// transaction, each in its own savepoint, and each returns only after that shared commit; see <c>Storage/SqliteWriteGroup.cs</c>).
    /// </summary>
    [Range(1, 10_000)]
    public int SqliteGroupCommitMaxOperations { get; set; } = 64;

    /// <summary>
    /// Credit leases (the default): an instance takes a block of an account's credits in one transaction and holds calls
    /// against it in memory, writing settled calls in batches (see README "Credit leases"). False: every call holds and
    /// settles exactly in the database.
    /// </summary>
    public bool Leases { get; set; } = true;

    /// <summary>How long a lease counts without renewal: a dead instance's lease returns to the account within this.</summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an instance renews its leases and learns about admin changes made elsewhere (the visibility bound).</summary>
    public TimeSpan LeaseRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A lease is sized to this much of the account's recent spend on the instance.</summary>
    public TimeSpan LeaseSpendWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest share of an account's free credits one lease may take.</summary>
    [Range(0.01, 1.0)]
    public double LeaseMaxShare { get; set; } = 0.25;

    /// <summary>Below this many free credits an account is not leased: its calls hold exactly, so no balance is stranded in a lease.</summary>
    [Range(0, 1_000_000_000)]
    public decimal LeaseMinFreeCredits { get; set; } = 50;

    /// <summary>This instance's identity for its leases; empty: read from (or created in) <see cref="InstanceIdPath"/>.</summary>
    public string? InstanceId { get; set; }

    /// <summary>Where the derived instance id is kept across restarts; empty: <c>instance-id</c> next to the settlement journal.</summary>
    public string? InstanceIdPath { get; set; }

    /// <summary>The most settlements and call records one batch transaction carries.</summary>
    [Range(1, 10_000)]
    public int SettlementBatchMax { get; set; } = 512;

    /// <summary>
    /// The longest the batch writer lingers for more work before a batch, and only after a large batch while leased
    /// calls it waits for are in flight (a quiet gateway's items are written at once); 0: never linger.
    /// </summary>
    public TimeSpan SettlementBatchDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The kind priority actually used.</summary>
    public IReadOnlyList<string> EffectiveKindPriority => KindPriority.Count > 0 ? KindPriority : CreditKinds.All;
}

using AiGateway.Ledger;
using AiGateway.Pricing;

namespace AiGateway.Tests.Ledger;

/// <summary>The ledger's invariants, run against each database (see the subclasses at the end).</summary>
public abstract class LedgerInvariantTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    // An odd start time so that day and month boundaries are only hit when a test aims at them.
    protected static readonly DateTimeOffset Start = new(2026, 3, 14, 9, 26, 53, 589, TimeSpan.Zero);
    protected readonly TFixture Db = db;
    protected readonly ManualTimeProvider Clock = new(Start);

    protected CreditLedger NewLedger(Action<LedgerOptions>? configure = null) => Db.CreateLedger(Clock, configure);

    protected static Credits C(decimal credits) => Credits.FromDecimal(credits);

    private async Task<LedgerSnapshot> AuditAsync(Guid account)
    {
        var snapshot = await LedgerSnapshot.ReadAsync(Db, account);
        snapshot.AssertBalanced();
        return snapshot;
    }

    [Fact]
    public async Task MixedMovements_AfterEachStep_BooksBalance()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(20), null, null, "pack", "k1");
        await ledger.GrantAsync(account, CreditKinds.Bonus, C(10), Start.AddDays(2), null, "gift", "k2");
        await AuditAsync(account);
        await ledger.ReserveAsync(account, C(8), "r1");
        await ledger.ReserveAsync(account, C(4), "r2");
        await AuditAsync(account);
        await ledger.SettleAsync("r1", C(3.5m));   // below the hold
        await ledger.SettleAsync("r2", C(6.25m));  // above the hold
        await ledger.ReserveAsync(account, C(1), "r3");
        await ledger.ReleaseAsync("r3");
        await AuditAsync(account);
        Clock.Advance(TimeSpan.FromDays(3));       // the bonus expires
        await ledger.ExpireLotsAsync();
        var lots = (await ledger.GetBalanceAsync(account, includeSpent: true))!.Lots;
        await ledger.RevokeGrantAsync(lots.Single(l => l.Kind == CreditKinds.Addon).Id);
        var snapshot = await AuditAsync(account);

        var granted = snapshot.Lots.Sum(l => l.Amount);
        var consumed = snapshot.Charges.Sum(c => c.Amount - c.Overage);
        var expired = snapshot.Lots.Sum(l => l.Expired);
        var revoked = snapshot.Lots.Sum(l => l.Revoked);
        Assert.Equal(C(30).Micro, granted);
        Assert.Equal(C(9.75m).Micro, consumed);
        Assert.Equal(granted, snapshot.Lots.Sum(l => l.Remaining) + snapshot.State!.Held + consumed + expired + revoked);
        Assert.True(expired > 0 && revoked > 0);
    }

    [Fact]
    public async Task GetBalanceAsync_AtExactExpiry_LotNoLongerCounts()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        var expiry = Start.AddHours(1);
        await ledger.GrantAsync(account, CreditKinds.Bonus, C(7), expiry, null, "gift", null);

        Clock.Set(expiry.AddTicks(-1));
        Assert.Equal(C(7), (await ledger.GetBalanceAsync(account))!.Available);
        Clock.Set(expiry);
        var atExpiry = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(Credits.Zero, atExpiry.Available);
        Assert.Empty(atExpiry.Lots);
        Assert.False((await ledger.ReserveAsync(account, C(1), "late")).Succeeded);
    }

    [Fact]
    public async Task ReserveAsync_OneTickBeforeExpiry_Succeeds()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        var expiry = Start.AddHours(1);
        await ledger.GrantAsync(account, CreditKinds.Bonus, C(7), expiry, null, "gift", null);
        Clock.Set(expiry.AddTicks(-1));
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, C(7), "edge")).Status);
    }

    [Fact]
    public async Task DailyPlan_NextDay_RefreshesWithoutAccumulating()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync("daily");
        Assert.Equal(C(100), (await ledger.GetBalanceAsync(account))!.Available);
        await ledger.ChargeAsync(account, C(30), "day1");
        Assert.Equal(C(70), (await ledger.GetBalanceAsync(account))!.Available);

        Clock.Set(LedgerPeriods.DayEnd(Start).AddMinutes(1));
        var nextDay = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(C(100), nextDay.Available);
        Assert.Single(nextDay.Lots);
        Clock.Advance(TimeSpan.FromDays(3));       // days without use still give one day's credits
        Assert.Equal(C(100), (await ledger.GetBalanceAsync(account))!.Available);
        await AuditAsync(account);
    }

    [Fact]
    public async Task MonthlyPlan_NextMonth_ReplacesWithoutRollover()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync("plus");
        Assert.Equal(C(700), (await ledger.GetBalanceAsync(account))!.Available);
        await ledger.ChargeAsync(account, C(100), "m1");
        Clock.Set(LedgerPeriods.MonthEnd(Start));  // exactly the next cycle start
        Assert.Equal(C(700), (await ledger.GetBalanceAsync(account))!.Available);
        await ledger.ExpireLotsAsync();
        var snapshot = await AuditAsync(account);
        Assert.Equal(C(600).Micro, snapshot.Lots.Sum(l => l.Expired));
    }

    [Fact]
    public async Task ReserveAsync_PlanAccount_IssuesPlanCreditsLazily()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync("free");
        var reserve = await ledger.ReserveAsync(account, C(4), "lazy");
        Assert.Equal(ReserveStatus.Reserved, reserve.Status);
        Assert.Equal(C(6), reserve.Available);
        var lot = Assert.Single((await LedgerSnapshot.ReadAsync(Db, account)).Lots);
        Assert.Equal(CreditKinds.Plan, lot.Kind);
        Assert.Equal(LedgerPeriods.MonthEnd(Start), lot.ExpiresAt);
    }

    [Fact]
    public async Task IssuePlanCreditsAsync_SeveralInstancesAtOnce_IssuesThePeriodOnce()
    {
        var account = await Db.CreateAccountAsync("combo");
        var instances = Enumerable.Range(0, 6).Select(_ => NewLedger()).ToList();
        await Task.WhenAll(instances.Select(l => Task.Run(async () =>
        {
            await l.IssuePlanCreditsAsync();
            await l.GetBalanceAsync(account);
        })));
        var lots = (await LedgerSnapshot.ReadAsync(Db, account)).Lots;
        Assert.Equal(2, lots.Count); // one monthly, one daily
        Assert.Equal(C(55), (await NewLedger().GetBalanceAsync(account))!.Available);
    }

    [Fact]
    public async Task SettleAsync_SeveralLotsAndShortfall_AllocationsSumToCharge()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(2), null, 3, "a", null);
        await ledger.GrantAsync(account, CreditKinds.Bonus, C(1.5m), null, null, "b", null);
        await ledger.GrantAsync(account, CreditKinds.Referral, C(0.25m), null, 1, "c", null);
        await ledger.ReserveAsync(account, C(3), "multi");
        var result = await ledger.SettleAsync("multi", C(5));

        Assert.Equal(C(5), result.Charged);
        Assert.Equal(C(1.25m), result.Overage);
        Assert.Equal(3, result.Allocations.Count);
        Assert.Equal(result.Charged - result.Overage, new Credits(result.Allocations.Sum(a => a.Amount.Micro)));
        await AuditAsync(account);
    }

    [Fact]
    public async Task SettleAsync_Repeated_ReturnsFirstResultAndChangesNothing()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(10), null, null, "pack", null);
        await ledger.ReserveAsync(account, C(5), "once");
        var first = await ledger.SettleAsync("once", C(3));
        var before = await LedgerSnapshot.ReadAsync(Db, account);

        var again = await NewLedger().SettleAsync("once", C(9));
        var after = await LedgerSnapshot.ReadAsync(Db, account);
        Assert.False(first.Repeated);
        Assert.True(again.Repeated);
        Assert.Equal(first.Charged, again.Charged);
        Assert.Equal(first.Allocations, again.Allocations);
        Assert.Equal(C(7), again.Available);
        Assert.Equal(before.Lots.Select(l => l.Remaining), after.Lots.Select(l => l.Remaining));
        Assert.Equal(before.Entries.Count, after.Entries.Count);
        Assert.Equal(ReleaseStatus.AlreadySettled, (await ledger.ReleaseAsync("once")).Status);
    }

    [Fact]
    public async Task SettleAsync_AfterRelease_ChargesNothing()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(10), null, null, "pack", null);
        await ledger.ReserveAsync(account, C(5), "rel");
        await ledger.ReleaseAsync("rel");
        var settle = await ledger.SettleAsync("rel", C(4));
        Assert.Equal(SettleStatus.Released, settle.Status);
        Assert.Equal(Credits.Zero, settle.Charged);
        Assert.Equal(C(10), (await ledger.GetBalanceAsync(account))!.Available);
        Assert.Equal(ReleaseStatus.AlreadyReleased, (await ledger.ReleaseAsync("rel")).Status);
        Assert.Equal(SettleStatus.NotFound, (await ledger.SettleAsync("never-held", C(1))).Status);
    }

    [Fact]
    public async Task ReleaseAsync_AfterReserve_RestoresBalanceExactly()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(3.333333m), null, null, "pack", null);
        var before = (await ledger.GetBalanceAsync(account))!;
        var reserve = await ledger.ReserveAsync(account, C(2.5m), "free");
        Assert.Equal(C(0.833333m), reserve.Available);
        var release = await ledger.ReleaseAsync("free");
        var after = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(before.Available, release.Available);
        Assert.Equal(before.Available, after.Available);
        Assert.Equal(before.Lots, after.Lots);
        Assert.Empty((await LedgerSnapshot.ReadAsync(Db, account)).Charges);
    }

    [Fact]
    public async Task GrantAsync_SameIdempotencyKey_ReturnsOriginalOnce()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        var first = await ledger.GrantAsync(account, CreditKinds.Addon, C(30), null, null, "invoice 17", "inv-17");
        var again = await NewLedger().GrantAsync(account, CreditKinds.Addon, C(99), null, null, "invoice 17 again", "inv-17");
        Assert.Equal(GrantStatus.Granted, first.Status);
        Assert.Equal(GrantStatus.Repeated, again.Status);
        Assert.Equal(first.Lot!.Id, again.Lot!.Id);
        Assert.Equal(C(30), again.Lot.Amount);
        Assert.Equal(C(30), (await ledger.GetBalanceAsync(account))!.Available);
        // The key is per account: another account may use it.
        var other = await Db.CreateAccountAsync();
        Assert.Equal(GrantStatus.Granted, (await ledger.GrantAsync(other, CreditKinds.Addon, C(1), null, null, "x", "inv-17")).Status);
    }

    [Theory]
    [InlineData(0, 1, 2, 3, 4)]
    [InlineData(4, 3, 2, 1, 0)]
    [InlineData(2, 0, 4, 1, 3)]
    [InlineData(3, 4, 0, 2, 1)]
    public async Task SettleAsync_LotsInsertedInAnyOrder_BurnInSameOrder(int a, int b, int c, int d, int e)
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        var tenDays = Start.AddDays(10);
        var grants = new (string Kind, DateTimeOffset? Expiry, string Name)[]
        {
            (CreditKinds.Addon, tenDays, "addon-10d"),
            (CreditKinds.Plan, tenDays, "plan-10d"),      // same expiry as the add-on: plan first
            (CreditKinds.Bonus, null, "bonus-never"),     // never expires: last
            (CreditKinds.Referral, Start.AddDays(5), "referral-5d"),
            (CreditKinds.Bonus, Start.AddDays(20), "bonus-20d"),
        };
        foreach (var i in new[] { a, b, c, d, e })
            await ledger.GrantAsync(account, grants[i].Kind, C(1), grants[i].Expiry, null, grants[i].Name, null);

        var result = await ledger.ChargeAsync(account, C(5), $"all-{account}");
        var lots = (await ledger.GetBalanceAsync(account, includeSpent: true))!.Lots.ToDictionary(l => l.Id, l => l.Reason);
        Assert.Equal(
            ["referral-5d", "plan-10d", "addon-10d", "bonus-20d", "bonus-never"],
            result.Allocations.Select(x => lots[x.LotId]).ToArray());
    }

    [Fact]
    public async Task SettleAsync_ActualAboveAvailable_RecordsOverageRepaidByNextGrant()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(2), null, null, "pack", null);
        await ledger.ReserveAsync(account, C(2), "big");
        var settle = await ledger.SettleAsync("big", C(5));
        Assert.Equal(C(5), settle.Charged);
        Assert.Equal(C(3), settle.Overage);

        var inDebt = (await ledger.GetBalanceAsync(account))!;
        Assert.True(inDebt.Exhausted);
        Assert.Equal(C(3), inDebt.Overage);
        Assert.Equal(ReserveStatus.InsufficientCredits, (await ledger.ReserveAsync(account, Credits.Zero, "zero")).Status);

        var grant = await ledger.GrantAsync(account, CreditKinds.Addon, C(10), null, null, "top-up", null);
        Assert.Equal(C(3), grant.RepaidOverage);
        Assert.Equal(C(7), grant.Available);
        var paid = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(Credits.Zero, paid.Overage);
        Assert.Equal(C(7), paid.Available);
        await AuditAsync(account);
    }

    [Fact]
    public async Task ExpireHoldsAsync_AfterTtl_ReleasesHoldAndLateSettleStillCharges()
    {
        var ledger = NewLedger(o => o.HoldTtl = TimeSpan.FromMinutes(5));
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(10), null, null, "pack", null);
        await ledger.ReserveAsync(account, C(6), "slow");
        Clock.Advance(TimeSpan.FromMinutes(4));
        await ledger.ExpireHoldsAsync();
        Assert.Equal(C(6), (await ledger.GetBalanceAsync(account))!.Held);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await ledger.ExpireHoldsAsync();
        var afterSweep = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(Credits.Zero, afterSweep.Held);
        Assert.Equal(C(10), afterSweep.Available);
        Assert.Equal(ReleaseStatus.AlreadyExpired, (await ledger.ReleaseAsync("slow")).Status);

        var late = await ledger.SettleAsync("slow", C(2));
        Assert.Equal(C(2), late.Charged);
        Assert.Equal(C(8), late.Available);
        await AuditAsync(account);
    }

    [Fact]
    public async Task ChangePlanAsync_Upgrade_ExpiresOldPlanCreditsNowAndIssuesNewPlan()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync("plus");
        await ledger.ChargeAsync(account, C(100), "before-upgrade");
        var addon = await ledger.GrantAsync(account, CreditKinds.Addon, C(5), null, null, "pack", null);
        Clock.Advance(TimeSpan.FromHours(1));

        var change = await ledger.ChangePlanAsync(account, "pro");
        Assert.Equal(PlanChangeStatus.Changed, change.Status);
        Assert.Equal(C(600), change.ExpiredCredits);
        var issued = Assert.Single(change.IssuedLots);
        Assert.Equal(C(1300), issued.Amount);
        Assert.Equal(Clock.GetUtcNow(), issued.EffectiveAt);
        Assert.Equal(LedgerPeriods.MonthEnd(Start), issued.ExpiresAt);
        var balance = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(C(1305), balance.Available);
        Assert.Equal("pro", balance.Plan);
        Assert.Contains(balance.Lots, l => l.Id == addon.Lot!.Id);
        var snapshot = await AuditAsync(account);
        var oldLot = snapshot.Lots.Single(l => l.SourceRef == "plan:plus");
        Assert.Equal(Clock.GetUtcNow(), oldLot.ExpiresAt);
        Assert.Equal(PlanChangeStatus.Unchanged, (await ledger.ChangePlanAsync(account, "pro")).Status);
        Assert.Equal(PlanChangeStatus.UnknownPlan, (await ledger.ChangePlanAsync(account, "gold")).Status);
    }

    [Fact]
    public async Task GrantReferralAsync_SameInviteeTwice_GrantsOnce()
    {
        var ledger = NewLedger();
        var referrer = await Db.CreateAccountAsync();
        var invitee = await Db.CreateAccountAsync();
        var other = await Db.CreateAccountAsync();
        var first = await ledger.GrantReferralAsync(referrer, invitee);
        var again = await ledger.GrantReferralAsync(referrer, invitee);
        var stolen = await ledger.GrantReferralAsync(other, invitee);

        Assert.Equal(ReferralStatus.Granted, first.Status);
        Assert.Equal(ReferralStatus.Repeated, again.Status);
        Assert.Equal(ReferralStatus.AlreadyReferred, stolen.Status);
        Assert.Equal(C(50), (await ledger.GetBalanceAsync(referrer))!.Available);
        var inviteeLot = Assert.Single((await ledger.GetBalanceAsync(invitee))!.Lots);
        Assert.Equal(C(30), inviteeLot.Remaining);
        Assert.Equal(Start.AddDays(30), inviteeLot.ExpiresAt);
        Assert.Equal(Credits.Zero, (await ledger.GetBalanceAsync(other))!.Available);
        Assert.Equal(ReferralStatus.SelfReferral, (await ledger.GrantReferralAsync(referrer, referrer)).Status);
        Assert.Equal(ReferralStatus.UnknownAccount, (await ledger.GrantReferralAsync(referrer, Guid.NewGuid())).Status);
    }

    [Fact]
    public async Task RevokeGrantAsync_PartlySpentLot_RevokesOnlyRemainder()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        var grant = await ledger.GrantAsync(account, CreditKinds.Bonus, C(10), null, null, "gift", null);
        await ledger.ChargeAsync(account, C(4), "spend");
        var revoke = await ledger.RevokeGrantAsync(grant.Lot!.Id);
        Assert.Equal(RevokeStatus.Revoked, revoke.Status);
        Assert.Equal(C(6), revoke.Revoked);
        Assert.Equal(RevokeStatus.NothingLeft, (await ledger.RevokeGrantAsync(grant.Lot.Id)).Status);
        Assert.Equal(RevokeStatus.NotFound, (await ledger.RevokeGrantAsync(long.MaxValue)).Status);
        Assert.Equal(Credits.Zero, (await ledger.GetBalanceAsync(account))!.Available);
        await AuditAsync(account);
    }

    [Fact]
    public async Task ChargeAsync_RepeatedAndInsufficient_ChargesOnceAndNeverOvercommits()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(3), null, null, "pack", null);
        var draft = await ledger.ChargeAsync(account, C(2), "draft-1");
        var repeat = await ledger.ChargeAsync(account, C(2), "draft-1");
        var tooMuch = await ledger.ChargeAsync(account, C(2), "draft-2");
        Assert.Equal(SettleStatus.Settled, draft.Status);
        Assert.True(repeat.Repeated);
        Assert.Equal(SettleStatus.InsufficientCredits, tooMuch.Status);
        Assert.Equal(C(1), (await ledger.GetBalanceAsync(account))!.Available);
        Assert.Equal(SettleStatus.UnknownAccount, (await ledger.ChargeAsync(Guid.NewGuid(), C(1), "ghost")).Status);
        var other = await Db.CreateAccountAsync();
        await ledger.GrantAsync(other, CreditKinds.Addon, C(3), null, null, "pack", null);
        Assert.Equal(SettleStatus.RequestIdConflict, (await ledger.ChargeAsync(other, C(1), "draft-1")).Status);
        Assert.Equal(C(3), (await ledger.GetBalanceAsync(other))!.Available);
        await AuditAsync(account);
    }

    [Fact]
    public async Task ExpireLotsAsync_ExpiredLot_RecordsExpiryEntryOnce()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(4), null, 1, "pack", null);
        Clock.Advance(TimeSpan.FromDays(1));
        await ledger.ExpireLotsAsync();
        await ledger.ExpireLotsAsync();
        var snapshot = await AuditAsync(account);
        var entry = Assert.Single(snapshot.Entries, e => e.Type == LedgerEntryTypes.Expire);
        Assert.Equal(C(4).Micro, entry.Amount);
        Assert.Equal(0, entry.AvailableAfter);
    }

    [Fact]
    public async Task ReserveAsync_UnknownAccountOrUsedRequestId_Refused()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, C(4), null, null, "pack", null);
        Assert.Equal(ReserveStatus.UnknownAccount, (await ledger.ReserveAsync(Guid.NewGuid(), C(1), "u1")).Status);
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, C(1), "dup")).Status);
        Assert.Equal(ReserveStatus.AlreadyReserved, (await ledger.ReserveAsync(account, C(1), "dup")).Status);
        await ledger.ReleaseAsync("dup");
        Assert.Equal(ReserveStatus.RequestAlreadyUsed, (await ledger.ReserveAsync(account, C(1), "dup")).Status);
        Assert.Equal(C(4), (await ledger.GetBalanceAsync(account))!.Available);
    }

    [Fact]
    public async Task GetCreditsLogAsync_Paged_ReturnsEveryAcquisitionOnceNewestFirst()
    {
        var ledger = NewLedger();
        var account = await Db.CreateAccountAsync();
        for (var i = 0; i < 7; i++) await ledger.GrantAsync(account, CreditKinds.Bonus, C(i + 1), null, null, $"g{i}", null);
        var seen = new List<string>();
        long? cursor = null;
        do
        {
            var page = await ledger.GetCreditsLogAsync(account, cursor, 3);
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(x => x.Reason));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(["g6", "g5", "g4", "g3", "g2", "g1", "g0"], seen);
    }
}

/// <summary>The invariants on SQLite.</summary>
public sealed class SqliteLedgerInvariantTests(SqliteLedgerFixture db) : LedgerInvariantTests<SqliteLedgerFixture>(db);

/// <summary>The invariants on PostgreSQL.</summary>
public sealed class PostgresLedgerInvariantTests(PostgresLedgerFixture db) : LedgerInvariantTests<PostgresLedgerFixture>(db);

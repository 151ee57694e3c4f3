using AiGateway.Ledger;
using AiGateway.Pricing;

namespace AiGateway.Tests.Ledger;

/// <summary>Scoped lots in the ledger: lots limited to models / modalities pay only for calls they apply to.</summary>
public abstract class LedgerScopedLotTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private static readonly CallScope Opus = new("refly/claude-opus-4", "text");
    private static readonly CallScope Kimi = new("refly/kimi-k2", "text");
    private static readonly CallScope Flux = new("refly/flux-dev", "image");

    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));

    [Fact]
    public async Task ScopedLot_CallForOtherModel_SkippedByReserveAndSettle()
    {
        var (ledger, account) = await NewAsync();
        var universal = await GrantAsync(ledger, account, 5, days: 20);
        var bonus = await GrantAsync(ledger, account, 10, days: 10, models: ["refly/claude-opus-*"]);

        var reserve = await ledger.ReserveAsync(account, Credits.FromCredits(3), $"k-{account}", default, scope: Kimi);
        var settle = await ledger.SettleAsync($"k-{account}", Credits.FromCredits(3), default, Kimi);

        Assert.Equal(ReserveStatus.Reserved, reserve.Status);
        Assert.Equal(Credits.FromCredits(2), reserve.Available); // the 10 scoped credits do not count for kimi
        Assert.Equal([new LotAllocation(universal, Credits.FromCredits(3))], settle.Allocations);
        Assert.Equal(Credits.FromCredits(10), await RemainingAsync(ledger, account, bonus));
    }

    [Fact]
    public async Task ScopedLot_CallForMatchingModel_SpentInBurnDownOrder()
    {
        var (ledger, account) = await NewAsync();
        var universal = await GrantAsync(ledger, account, 5, days: 20);
        var bonus = await GrantAsync(ledger, account, 10, days: 10, models: ["refly/claude-opus-*"]);

        await ledger.ReserveAsync(account, Credits.FromCredits(12), $"o-{account}", default, scope: Opus);
        var settle = await ledger.SettleAsync($"o-{account}", Credits.FromCredits(12), default, Opus);

        Assert.Equal([new LotAllocation(bonus, Credits.FromCredits(10)), new LotAllocation(universal, Credits.FromCredits(2))], settle.Allocations);
    }

    [Fact]
    public async Task ScopedLot_OnlyScopedCreditsLeft_OtherModelRefused()
    {
        var (ledger, account) = await NewAsync();
        await GrantAsync(ledger, account, 10, days: 10, models: ["refly/claude-opus-4"]);

        var kimi = await ledger.ReserveAsync(account, Credits.FromCredits(1), $"k-{account}", default, scope: Kimi);
        var opus41 = await ledger.ReserveAsync(account, Credits.FromCredits(1), $"x-{account}", default, scope: Opus with { Model = "refly/claude-opus-4.1" });
        var opus = await ledger.ReserveAsync(account, Credits.FromCredits(1), $"o-{account}", default, scope: Opus);

        Assert.Equal((ReserveStatus.InsufficientCredits, Credits.Zero), (kimi.Status, kimi.Available));
        Assert.Equal(ReserveStatus.InsufficientCredits, opus41.Status); // exact pattern: no prefix match
        Assert.Equal(ReserveStatus.Reserved, opus.Status);
    }

    [Fact]
    public async Task ModalityScopedLot_ImageCallUsesIt_TextCallDoesNot()
    {
        var (ledger, account) = await NewAsync();
        var images = await GrantAsync(ledger, account, 4, days: 10, modalities: ["image"]);

        var text = await ledger.ChargeAsync(account, Credits.FromCredits(1), $"t-{account}", default, Kimi);
        var image = await ledger.ChargeAsync(account, Credits.FromCredits(1), $"i-{account}", default, Flux);

        Assert.Equal(SettleStatus.InsufficientCredits, text.Status);
        Assert.Equal([new LotAllocation(images, Credits.FromCredits(1))], image.Allocations);
    }

    [Fact]
    public async Task ScopedHold_CountsAgainstEveryScope_NoCreditPromisedTwice()
    {
        var (ledger, account) = await NewAsync();
        await GrantAsync(ledger, account, 5, days: 20);
        await GrantAsync(ledger, account, 10, days: 10, models: ["refly/claude-opus-*"]);

        var opus = await ledger.ReserveAsync(account, Credits.FromCredits(12), $"o-{account}", default, scope: Opus);
        var kimi = await ledger.ReserveAsync(account, Credits.FromCredits(1), $"k-{account}", default, scope: Kimi);

        Assert.Equal(ReserveStatus.Reserved, opus.Status);
        Assert.Equal(ReserveStatus.InsufficientCredits, kimi.Status); // 5 universal − 12 held: nothing left for kimi
    }

    [Fact]
    public async Task ScopedLot_CallerWithoutScope_SpendsEveryLotAsBefore()
    {
        var (ledger, account) = await NewAsync();
        var bonus = await GrantAsync(ledger, account, 10, days: 10, models: ["refly/claude-opus-*"], modalities: ["text"]);

        var charge = await ledger.ChargeAsync(account, Credits.FromCredits(2), $"n-{account}");

        Assert.Equal([new LotAllocation(bonus, Credits.FromCredits(2))], charge.Allocations);
        var lot = Assert.Single((await ledger.GetBalanceAsync(account))!.Lots);
        Assert.Equal(["refly/claude-opus-*"], lot.Models!);
        Assert.Equal(["text"], lot.Modalities!);
    }

    [Theory]
    [InlineData(new[] { "smell" }, null)]
    [InlineData(null, new[] { "a*b" })]
    [InlineData(null, new[] { "a,b" })]
    public async Task Grant_InvalidScope_Rejected(string[]? modalities, string[]? models)
    {
        var (ledger, account) = await NewAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromCredits(1), null, 5,
            "bonus", null, models: models, modalities: modalities));
    }

    private async Task<(CreditLedger Ledger, Guid Account)> NewAsync() => (db.CreateLedger(_clock), await db.CreateAccountAsync());

    private async Task<long> GrantAsync(CreditLedger ledger, Guid account, long credits, int days, string[]? models = null, string[]? modalities = null) =>
        (await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromCredits(credits), _clock.GetUtcNow().AddDays(days), null, "bonus", null,
            models: models, modalities: modalities)).Lot!.Id;

    private static async Task<Credits> RemainingAsync(CreditLedger ledger, Guid account, long lotId) =>
        (await ledger.GetBalanceAsync(account))!.Lots.Single(l => l.Id == lotId).Remaining;
}

/// <summary>Scoped lots on SQLite.</summary>
public sealed class SqliteLedgerScopedLotTests(SqliteLedgerFixture db) : LedgerScopedLotTests<SqliteLedgerFixture>(db);

/// <summary>Scoped lots on PostgreSQL.</summary>
public sealed class PostgresLedgerScopedLotTests(PostgresLedgerFixture db) : LedgerScopedLotTests<PostgresLedgerFixture>(db);

/// <summary>The pattern rules of <see cref="LotScope"/>.</summary>
public sealed class LotScopeTests
{
    [Theory]
    [InlineData("refly/claude-*", "refly/claude-opus-4", true)]
    [InlineData("refly/claude-opus-4", "REFLY/Claude-Opus-4", true)]
    [InlineData("refly/claude-opus-4", "refly/claude-opus-4.1", false)]
    [InlineData("refly/claude-*", "refly/kimi-k2", false)]
    public void Matches_PatternAndModel_ExactOrPrefix(string pattern, string model, bool expected) =>
        Assert.Equal(expected, LotScope.Matches(pattern, model));

    [Fact]
    public void Applies_ModelAndModalityScopes_BothMustMatch()
    {
        Assert.True(LotScope.Applies("refly/*", "image", new CallScope("refly/flux-dev", "image")));
        Assert.False(LotScope.Applies("refly/*", "image", new CallScope("refly/kimi-k2", "text")));
        Assert.False(LotScope.Applies("other/*", "image", new CallScope("refly/flux-dev", "image")));
        Assert.True(LotScope.Applies(null, null, new CallScope("any", "text")));
    }
}

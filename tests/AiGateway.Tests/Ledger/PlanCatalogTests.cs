using AiGateway.Ledger;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.Ledger;

/// <summary>Plans from config/plans.json, the unlimited-model rule and the ledger's service registration.</summary>
public sealed class PlanCatalogTests
{
    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AiGateway.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), relative);
    }

    private static ServiceProvider Services(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(configuration);
        services.AddLedger(configuration);
        return services.BuildServiceProvider();
    }

    private static IConfiguration PlansJson(params (string Key, string? Value)[] extra) =>
        new ConfigurationBuilder()
            .AddJsonFile(RepoFile("config/plans.json"))
            .AddInMemoryCollection(extra.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value)))
            .Build();

    [Fact]
    public void PlansJson_Bound_HasSeedPlans()
    {
        using var provider = Services(PlansJson());
        var plans = provider.GetRequiredService<IOptions<PlansOptions>>().Value;
        Assert.Equal(10m, plans["free"].MonthlyCredits);
        Assert.Equal(100m, plans["daily"].DailyCredits);
        Assert.Equal(0m, plans["daily"].MonthlyCredits);
        Assert.Equal(700m, plans["plus"].MonthlyCredits);
        Assert.Equal(1300m, plans["PRO"].MonthlyCredits);
        Assert.Equal(2000m, plans["max"].MonthlyCredits);
        Assert.Equal(OveragePolicies.Clamp, provider.GetRequiredService<PlanCatalog>().GetOveragePolicy("free"));
        Assert.Equal(OveragePolicies.Overage, provider.GetRequiredService<PlanCatalog>().GetOveragePolicy(null));
    }

    [Theory]
    [InlineData("early-bird", "gpt-4o", true)]
    [InlineData("early-bird", "GPT-4o", true)]
    [InlineData("early-bird", "gpt-4o-mini", false)]
    [InlineData("early-bird", "claude-sonnet-4-20250514", true)]
    [InlineData("early-bird", "claude-opus-4-1", false)]
    [InlineData("pro", "gpt-4o", false)]
    [InlineData(null, "gpt-4o", false)]
    public void IsUnlimited_PlanAndModel_MatchesNamesAndWildcards(string? plan, string model, bool expected)
    {
        using var provider = Services(PlansJson());
        Assert.Equal(expected, provider.GetRequiredService<PlanCatalog>().IsUnlimited(plan, model));
    }

    [Fact]
    public void AddLedger_BadOveragePolicy_FailsValidation()
    {
        using var provider = Services(PlansJson(("Plans:free:overagePolicy", "forgive")));
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PlansOptions>>().Value);
    }

    [Fact]
    public void AddLedger_ConfiguredKindPriorityAndTtl_AreUsedAndHostedSweepRegistered()
    {
        using var provider = Services(PlansJson(
            ("Ledger:HoldTtl", "00:02:00"), ("Ledger:KindPriority:0", "addon"), ("Ledger:KindPriority:1", "plan")));
        var options = provider.GetRequiredService<IOptions<LedgerOptions>>().Value;
        Assert.Equal(TimeSpan.FromMinutes(2), options.HoldTtl);
        Assert.Equal(["addon", "plan"], options.EffectiveKindPriority);
        Assert.Contains(provider.GetServices<IHostedService>(), s => s is LedgerSweepService);
        Assert.NotNull(provider.GetRequiredService<CreditLedger>());
    }

    [Theory]
    [InlineData("00:00:30", "00:00:15")] // renewed only once per TTL: one late renewal and a running call's hold expires
    [InlineData("00:00:30", "00:00:00")]
    [InlineData("00:00:30", "-00:00:01")]
    public void AddLedger_HoldRenewIntervalNotWellBelowTtl_FailsValidation(string ttl, string renew)
    {
        using var provider = Services(PlansJson(("Ledger:HoldTtl", ttl), ("Ledger:HoldRenewInterval", renew)));
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<LedgerOptions>>().Value);
        Assert.Contains("Ledger:HoldRenewInterval", error.Message);
    }

    [Fact]
    public void AddLedger_NoHoldRenewInterval_RenewsFourTimesPerTtl()
    {
        using var provider = Services(PlansJson(("Ledger:HoldTtl", "00:02:00")));
        Assert.Equal(TimeSpan.FromSeconds(30), provider.GetRequiredService<IOptions<LedgerOptions>>().Value.EffectiveHoldRenewInterval);
    }

    [Fact]
    public void AddLedger_UnknownKindInPriority_FailsValidation()
    {
        using var provider = Services(PlansJson(("Ledger:KindPriority:0", "gold")));
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<LedgerOptions>>().Value);
    }

    [Fact]
    public void BurnDownOrder_DefaultPriority_ExpiryThenPlanBeforeAddonThenEffectiveThenId()
    {
        var order = new BurnDownOrder(CreditKinds.All);
        var lots = new[]
        {
            new SpendableLot(1, CreditKinds.Bonus, 1, 0, null),
            new SpendableLot(2, CreditKinds.Addon, 1, 0, 500),
            new SpendableLot(3, CreditKinds.Plan, 1, 5, 500),
            new SpendableLot(4, CreditKinds.Plan, 1, 3, 500),
            new SpendableLot(5, CreditKinds.Addon, 1, 0, 100),
            new SpendableLot(6, CreditKinds.Plan, 1, 3, 500),
        };
        var expected = new long[] { 5, 4, 6, 3, 2, 1 };
        Assert.Equal(expected, lots.OrderBy(l => l, order).Select(l => l.Id));
        Assert.Equal(expected, lots.Reverse().OrderBy(l => l, order).Select(l => l.Id));
    }

    [Fact]
    public void LedgerPeriods_LastTickOfMonth_BelongsToThatMonth()
    {
        var lastTick = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(-1);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), LedgerPeriods.MonthStart(lastTick));
        Assert.Equal(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), LedgerPeriods.MonthEnd(lastTick));
        // A non-UTC offset is converted first: 23:30 at −02:00 is already the next UTC day.
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero),
            LedgerPeriods.DayStart(new DateTimeOffset(2026, 3, 10, 23, 30, 0, TimeSpan.FromHours(-2))));
    }
}

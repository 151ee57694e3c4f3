using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Tests.Pricing;

namespace AiGateway.Tests.Metering;

/// <summary>The learned typical output behind the expected estimate.</summary>
public sealed class OutputTokenStatsTests
{
    private static readonly ModelPrice Price = PricingTestData.Price(PricingTestData.Text(m => m.Output = 1));

    [Fact]
    public void Typical_BeforeMinSamples_IsNull_ThenTheAverage()
    {
        var stats = new OutputTokenStats();
        for (var i = 0; i < OutputTokenStats.MinSamples - 1; i++) stats.Observe(Price, 100);
        Assert.Null(stats.Typical(Price));
        stats.Observe(Price, 200);
        Assert.Equal(120, stats.Typical(Price)); // (4 × 100 + 200) / 5
    }

    [Fact]
    public void Typical_FollowsRecentCalls()
    {
        var stats = new OutputTokenStats();
        for (var i = 0; i < 200; i++) stats.Observe(Price, 4_000);
        for (var i = 0; i < 500; i++) stats.Observe(Price, 50); // 3,950 × (49/50)^500 ≈ 0.1 left of the old value
        Assert.InRange(stats.Typical(Price)!.Value, 50, 51);
    }

    [Fact]
    public async Task Observe_InParallel_KeepsOneBoundedEntry()
    {
        var stats = new OutputTokenStats();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1_000; i++) stats.Observe(Price, 300);
        })));
        Assert.Equal(300, stats.Typical(Price));
    }
}

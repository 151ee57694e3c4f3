using AiGateway.Metering;
using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

/// <summary>Issue #12 item 3: credit arithmetic on numbers from outside never throws; it saturates.</summary>
public class CostCalculatorOverflowTests
{
    private static readonly ModelPrice Price = PricingTestData.Price(PricingTestData.Text(m =>
    {
        m.Input = 250;
        m.Output = 1000;
    }));

    [Theory]
    [InlineData(100_000_000_000_000_000L)]
    [InlineData(long.MaxValue)]
    public void Cost_HugeTokenCounts_SaturatesInsteadOfThrowing(long tokens)
    {
        var cost = CostCalculator.Cost(Price, new CallUsage { InputTokens = tokens, OutputTokens = tokens, ReasoningTokens = tokens });
        Assert.Equal(long.MaxValue, cost.Micro);
    }

    [Fact]
    public void Estimate_HugeTokenCounts_SaturatesInsteadOfThrowing() =>
        Assert.Equal(long.MaxValue, CostCalculator.Estimate(Price, long.MaxValue, long.MaxValue, EstimateUnits.None).Micro);
}

using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

public sealed class CostCalculatorEstimateTests
{
    // Per 1M tokens: input 3, cached 0.3, output 15, reasoning 20 credits (micro-credits per token).
    private static readonly ModelPrice Reasoner = PricingTestData.Price(PricingTestData.Text(m =>
    {
        m.Input = 3;
        m.CachedInput = 0.3m;
        m.Output = 15;
        m.Reasoning = 20;
        m.ExpectedOutputTokens = 700;
    }));

    private static readonly ModelPrice Plain = PricingTestData.Price(PricingTestData.Text(m => { m.Input = 3; m.Output = 15; }));

    [Fact]
    public void Estimate_Tokens_PricesInputUncachedAndOutputAtHigherOfOutputAndReasoning()
    {
        // 1000 × 3 + 500 × 20.
        Assert.Equal(new Credits(13_000), CostCalculator.Estimate(Reasoner, 1000, 500, EstimateUnits.None));
        // 1000 × 3 + 500 × 15.
        Assert.Equal(new Credits(10_500), CostCalculator.Estimate(Plain, 1000, 500, EstimateUnits.None));
    }

    [Fact]
    public void Estimate_PerRequestModel_IncludesOneRequest()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Input = null; m.PerRequest = 1; m.Multiplier = 1.5m; }));
        Assert.Equal(new Credits(1_500_000), CostCalculator.Estimate(price, 40_000, 1_000, EstimateUnits.None));
    }

    [Fact]
    public void Estimate_Units_AddImagesBySizeSecondsAndUses()
    {
        var price = PricingTestData.Price(new ModelPriceOptions
        {
            Provider = "x",
            Modality = ModelModality.Image,
            PerImage = 4,
            PerImageBySize = new(StringComparer.OrdinalIgnoreCase) { ["1024x1792/hd"] = 12 },
            PerVideoSecond = 10,
            PerAudioUse = 35,
        });
        var units = new EstimateUnits { Images = 2, ImageSize = "1024x1792", ImageQuality = "hd", VideoSeconds = 3, AudioUses = 1 };
        Assert.Equal(Credits.FromCredits(24 + 30 + 35), CostCalculator.Estimate(price, 0, 0, units));
    }

    [Fact]
    public void OutputTokensForEstimate_NoRequestedMax_UsesExpectedOutputTokens()
    {
        Assert.Equal(700, Reasoner.OutputTokensForEstimate(null));
        Assert.Equal(700, Reasoner.OutputTokensForEstimate(0));
        Assert.Equal(64, Reasoner.OutputTokensForEstimate(64));
        Assert.Equal(1024, Plain.OutputTokensForEstimate(null));
    }

    [Fact]
    public void AffordableOutputTokens_PartialBudget_ReturnsLargestFittingCount()
    {
        // Input 1000 × 3 = 3,000; 7,000 left ÷ 15 per token = 466.67 → 466.
        var affordable = CostCalculator.AffordableOutputTokens(Plain, 1000, new Credits(10_000));
        Assert.Equal(466, affordable);
    }

    [Theory]
    [InlineData(1000, 10_000)]
    [InlineData(1000, 3_000)]
    [InlineData(0, 1)]
    [InlineData(123_457, 9_876_543)]
    [InlineData(5, 1_000_000_000_000)]
    public void AffordableOutputTokens_Result_FitsAndOneMoreDoesNot(long inputTokens, long availableMicro)
    {
        foreach (var price in new[] { Plain, Reasoner })
        {
            var available = new Credits(availableMicro);
            var tokens = CostCalculator.AffordableOutputTokens(price, inputTokens, available);
            Assert.True(CostCalculator.Estimate(price, inputTokens, tokens, EstimateUnits.None) <= available);
            Assert.True(CostCalculator.Estimate(price, inputTokens, tokens + 1, EstimateUnits.None) > available);
        }
    }

    [Fact]
    public void AffordableOutputTokens_InputDoesNotFit_ReturnsZero()
    {
        Assert.Equal(0, CostCalculator.AffordableOutputTokens(Plain, 1000, new Credits(2_999)));
        Assert.Equal(0, CostCalculator.AffordableOutputTokens(Plain, 0, new Credits(-1)));
    }

    [Fact]
    public void AffordableOutputTokens_FreeOutput_ReturnsUnbounded()
    {
        var embeddings = PricingTestData.Price(PricingTestData.Text(m => { m.Input = 2; m.Output = 0; }));
        Assert.Equal(long.MaxValue, CostCalculator.AffordableOutputTokens(embeddings, 1000, new Credits(2_000)));
        Assert.Equal(0, CostCalculator.AffordableOutputTokens(embeddings, 1000, new Credits(1_999)));
    }
}

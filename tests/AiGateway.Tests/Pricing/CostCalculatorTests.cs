using AiGateway.Metering;
using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

public sealed class CostCalculatorTests
{
    // Per 1M tokens: input 3, cached 0.3, cache write 3.75, output 15, reasoning 20 credits
    // = 3 / 0.3 / 3.75 / 15 / 20 micro-credits per token.
    private static readonly ModelPrice Full = PricingTestData.Price(PricingTestData.Text(m =>
    {
        m.Input = 3;
        m.CachedInput = 0.3m;
        m.CacheWrite = 3.75m;
        m.Output = 15;
        m.Reasoning = 20;
    }));

    [Fact]
    public void Cost_EveryTokenClass_PricesEachClassAtItsRate()
    {
        var usage = new CallUsage { InputTokens = 1000, CachedInputTokens = 400, CacheWriteInputTokens = 200, OutputTokens = 500, ReasoningTokens = 100 };
        // Cache reads and writes are parts of input: 400 × 3 + 400 × 0.3 + 200 × 3.75 + 400 × 15 + 100 × 20 = 1200 + 120 + 750 + 6000 + 2000.
        Assert.Equal(new Credits(10_070), CostCalculator.Cost(Full, usage));
    }

    [Fact]
    public void Cost_AllInputCached_ChargesCachedRateOnlyNeverBoth()
    {
        var usage = new CallUsage { InputTokens = 1000, CachedInputTokens = 1000 };
        Assert.Equal(new Credits(300), CostCalculator.Cost(Full, usage));
    }

    [Fact]
    public void Cost_AllOutputReasoning_ChargesReasoningRateOnlyNeverBoth()
    {
        var usage = new CallUsage { OutputTokens = 1000, ReasoningTokens = 1000 };
        Assert.Equal(new Credits(20_000), CostCalculator.Cost(Full, usage));
    }

    [Fact]
    public void Cost_SubCountAboveTotal_ChargesTheSubCountOnce()
    {
        // A provider reporting more cached than total input: 0 uncached, 20 cached × 0.3 = 6.
        Assert.Equal(new Credits(6), CostCalculator.Cost(Full, new CallUsage { InputTokens = 10, CachedInputTokens = 20 }));
    }

    [Fact]
    public void Cost_UnsetCachedAndReasoningRates_FallBackToInputAndOutput()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Input = 2; m.Output = 10; }));
        var usage = new CallUsage { InputTokens = 100, CachedInputTokens = 100, CacheWriteInputTokens = 10, OutputTokens = 50, ReasoningTokens = 50 };
        // 100 × 2 + 10 × 2 + 50 × 10.
        Assert.Equal(new Credits(720), CostCalculator.Cost(price, usage));
    }

    [Fact]
    public void Cost_OneTokenBelowAMicroCredit_RoundsUpToOne()
    {
        // 0.3 micro-credits exactly; truncation would make the call free.
        Assert.Equal(new Credits(1), CostCalculator.Cost(Full, new CallUsage { InputTokens = 1, CachedInputTokens = 1 }));
    }

    [Fact]
    public void Cost_SubMicroLineItems_EachRoundUpOnce()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Input = 0.5m; m.Output = 0.5m; }));
        // Uncached 3 × 0.5 = 1.5 → 2; cached 1 × 0.5 = 0.5 → 1; output 1 × 0.5 → 1: one ceiling per line, not per call.
        Assert.Equal(new Credits(4), CostCalculator.Cost(price, new CallUsage { InputTokens = 4, CachedInputTokens = 1, OutputTokens = 1 }));
    }

    [Fact]
    public void Cost_ExactMultiple_DoesNotRoundUp()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Input = 0.5m; }));
        Assert.Equal(new Credits(2), CostCalculator.Cost(price, new CallUsage { InputTokens = 4 }));
    }

    [Fact]
    public void Cost_Per5KTokens_ChargesPerBlockRate()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.PerTokens = 5000; m.Input = 11; m.Output = 11; }));
        // 11 credits per 5,000 tokens = 2,200 micro-credits per token.
        Assert.Equal(new Credits(2_200), CostCalculator.Cost(price, new CallUsage { InputTokens = 1 }));
        Assert.Equal(new Credits(16_500_000), CostCalculator.Cost(price, new CallUsage { InputTokens = 4000, OutputTokens = 3500 }));
    }

    [Theory]
    [InlineData(0.5, 500_000)]
    [InlineData(1.5, 1_500_000)]
    [InlineData(1.0, 1_000_000)]
    public void Cost_PerRequestWithMultiplier_ChargesBaseTimesMultiplierOnce(double multiplier, long micro)
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Input = null; m.PerRequest = 1; m.Multiplier = (decimal)multiplier; }));
        Assert.Equal(new Credits(micro), CostCalculator.Cost(price, new CallUsage { InputTokens = 50_000, OutputTokens = 2_000 }));
    }

    [Fact]
    public void Cost_PerRequestTimesMultiplierBelowAMicroCredit_RoundsUpAtLoad()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.PerRequest = 0.333333m; m.Multiplier = 1.5m; }));
        // 0.4999995 credits = 499,999.5 micro → 500,000.
        Assert.Equal(new Credits(500_000), CostCalculator.Cost(price, CallUsage.None));
    }

    [Theory]
    [InlineData("1024x1792", "hd", 24)]
    [InlineData("1024x1792", null, 16)]
    [InlineData("1024x1792", "standard", 16)]
    [InlineData(null, "hd", 16)]
    [InlineData("256x256", "low", 8)]
    [InlineData(null, null, 8)]
    public void Cost_PerImageBySize_UsesMostSpecificEntry(string? size, string? quality, long credits)
    {
        var price = PricingTestData.Price(new ModelPriceOptions
        {
            Provider = "openai",
            Modality = ModelModality.Image,
            PerImage = 4,
            PerImageBySize = new(StringComparer.OrdinalIgnoreCase) { ["1024x1792/hd"] = 12, ["1024x1792"] = 8, ["hd"] = 8 },
        });
        Assert.Equal(Credits.FromCredits(credits), CostCalculator.Cost(price, new CallUsage { Images = 2 }, size, quality));
    }

    [Fact]
    public void Cost_PerImageKeys_MatchCaseInsensitively()
    {
        var price = PricingTestData.Price(new ModelPriceOptions
        {
            Provider = "openai",
            Modality = ModelModality.Image,
            PerImage = 4,
            PerImageBySize = new(StringComparer.OrdinalIgnoreCase) { ["1024x1792/hd"] = 12 },
        });
        Assert.Equal(Credits.FromCredits(12), CostCalculator.Cost(price, new CallUsage { Images = 1 }, "1024X1792", "HD"));
    }

    [Fact]
    public void Cost_PerVideoSecond_ChargesEverySecond()
    {
        var price = PricingTestData.Price(new ModelPriceOptions { Provider = "replicate", Modality = ModelModality.Video, PerVideoSecond = 840 });
        Assert.Equal(Credits.FromCredits(4_200), CostCalculator.Cost(price, new CallUsage { VideoSeconds = 5 }));
    }

    [Fact]
    public void Cost_PerAudioUse_ChargesEachUse()
    {
        var price = PricingTestData.Price(new ModelPriceOptions { Provider = "elevenlabs", Modality = ModelModality.Audio, PerAudioUse = 35 });
        Assert.Equal(Credits.FromCredits(35), CostCalculator.Cost(price, new CallUsage { AudioUses = 1 }));
        Assert.Equal(Credits.Zero, CostCalculator.Cost(price, CallUsage.None));
    }

    [Fact]
    public void Cost_NegativeCounts_CostNothing()
    {
        var usage = new CallUsage { InputTokens = -5, CachedInputTokens = -3, CacheWriteInputTokens = -1, OutputTokens = -2, ReasoningTokens = -9, Images = -1 };
        Assert.Equal(Credits.Zero, CostCalculator.Cost(Full, usage));
    }

    [Fact]
    public void Cost_ResultBeyondLong_SaturatesRatherThanWrappingOrThrowing()
    {
        // Issue #12: a throw here turned a served call into a 502 (or an uncharged stream); usage is bounded before
        // charging, and the arithmetic itself saturates.
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.PerTokens = 1; m.Input = 1_000_000_000m; }));
        Assert.Equal(long.MaxValue, CostCalculator.Cost(price, new CallUsage { InputTokens = long.MaxValue / 2 }).Micro);
    }
}

using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

public sealed class ModelPriceTests
{
    [Theory]
    [InlineData(1000, 1200)]
    [InlineData(1001, 1202)]
    [InlineData(0, 0)]
    public void ScaleCountedTokens_ApproximatedModel_MultipliesAndRoundsUp(long counted, long expected)
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Encoding = null; m.ApproximationFactor = 1.2m; }));
        Assert.Equal("o200k_base", price.Encoding);
        Assert.Equal(expected, price.ScaleCountedTokens(counted));
    }

    [Fact]
    public void ScaleCountedTokens_OwnEncoding_ReturnsCountUnchanged()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => m.Encoding = "cl100k_base"));
        Assert.Equal("cl100k_base", price.Encoding);
        Assert.Equal(1001, price.ScaleCountedTokens(1001));
    }

    [Fact]
    public void FromOptions_UnsetSubRates_TakeTheParentRate()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Input = 2.5m; m.Output = 10; }));
        Assert.Equal(new Credits(2_500_000), price.CachedInput);
        Assert.Equal(new Credits(2_500_000), price.CacheWrite);
        Assert.Equal(new Credits(10_000_000), price.Reasoning);
    }

    [Fact]
    public void FromOptions_NonTextModelWithoutExpectedOutput_ExpectsNoOutputTokens()
    {
        var price = PricingTestData.Price(new ModelPriceOptions { Provider = "openai", Modality = ModelModality.Image, PerImage = 4 });
        Assert.Equal(0, price.ExpectedOutputTokens);
        Assert.Equal(ModelModality.Image, price.Modality);
    }

    [Fact]
    public void DefaultModel_DifferentCase_StillValidatesAndResolves()
    {
        var options = PricingTestData.Options(("gpt-4o-mini", PricingTestData.Text()));
        options.UnknownModel = UnknownModelPolicy.Default;
        options.DefaultModel = "GPT-4o-Mini";
        Assert.True(new PriceBook(options).TryResolve("unknown", out var price));
        Assert.Equal("gpt-4o-mini", price.Name);
    }
}

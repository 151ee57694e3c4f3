using AiGateway.Pricing;
using Microsoft.Extensions.Configuration;

namespace AiGateway.Tests.Pricing;

/// <summary>The price book's maximum output per request: what a request without its own limit is held for.</summary>
public sealed class MaxOutputTokensTests
{
    private static List<string> Errors(ModelPriceOptions model) => PricingOptionsValidator.Errors(PricingTestData.Options(("m", model)));

    [Fact]
    public void Errors_MaxOutputTokensOutOfRange_AreReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = -1; })), e => e.Contains("maxOutputTokens"));
        Assert.Contains(Errors(PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = 10_000_001; })), e => e.Contains("maxOutputTokens"));
    }

    [Fact]
    public void Errors_ZeroMaxOutputOnPricedOutput_IsReported() =>
        Assert.Contains(Errors(PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = 0; })), e => e.Contains("output is priced"));

    [Fact]
    public void Errors_ExpectedAboveMax_IsReported() =>
        Assert.Contains(Errors(PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = 100; m.ExpectedOutputTokens = 200; })),
            e => e.Contains("exceeds maxOutputTokens"));

    [Fact]
    public void OutputLimitForHold_NoRequestedLimit_IsTheModelMaximum()
    {
        var price = PricingTestData.Price(PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = 16_384; }));
        Assert.Equal(16_384, price.OutputLimitForHold(null));
        Assert.Equal(50, price.OutputLimitForHold(50));
        Assert.Equal(100_000, price.OutputLimitForHold(100_000)); // a larger request limit is held as asked
    }

    [Fact]
    public void FromOptions_TextModelWithoutMax_GetsTheBookDefault_AndExpectedNeverExceedsIt()
    {
        var options = PricingTestData.Options(("m", PricingTestData.Text(m => m.Output = 1)), ("small", PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = 512; })));
        options.DefaultMaxOutputTokens = 4_096;
        var book = new PriceBook(options);
        Assert.True(book.TryResolve("m", out var m));
        Assert.Equal(4_096, m.MaxOutputTokens);
        Assert.True(book.TryResolve("small", out var small));
        Assert.Equal(512, small.ExpectedOutputTokens); // the 1,024 default is capped at what the model can produce
    }

    [Fact]
    public void SampleBook_EveryPricedTextModelHasAMaximum()
    {
        var config = new ConfigurationBuilder().SetBasePath(AppContext.BaseDirectory).AddJsonFile("config/prices.json").Build();
        var options = new PricingOptions();
        config.GetSection(PricingOptions.SectionName).Bind(options);
        foreach (var (name, model) in options.Models)
        {
            if (model.Modality != ModelModality.Text || model.Output is not > 0) continue;
            Assert.True(model.MaxOutputTokens is > 0, $"{name} has no maxOutputTokens");
        }
    }
}

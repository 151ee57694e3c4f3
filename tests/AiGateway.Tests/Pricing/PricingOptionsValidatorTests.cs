using AiGateway.Pricing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.Pricing;

public sealed class PricingOptionsValidatorTests
{
    private static List<string> Errors(ModelPriceOptions model) => PricingOptionsValidator.Errors(PricingTestData.Options(("m", model)));

    [Fact]
    public void Errors_MinimalTextModel_ReturnsNone()
    {
        Assert.Empty(Errors(PricingTestData.Text(m => m.Output = 1)));
    }

    [Fact]
    public void Errors_NegativePrice_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Output = -1)), e => e.Contains("negative"));
    }

    [Fact]
    public void Errors_PriceFinerThanAMicroCredit_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Input = 0.0000001m)), e => e.Contains("six decimals"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5000)]
    public void Errors_PerTokensNotPositive_IsReported(long perTokens)
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.PerTokens = perTokens)), e => e.Contains("perTokens"));
    }

    [Fact]
    public void Errors_AliasUsedTwice_IsReported()
    {
        var options = PricingTestData.Options(
            ("a", PricingTestData.Text(m => m.Aliases = ["shared"])),
            ("b", PricingTestData.Text(m => m.Aliases = ["SHARED"])));
        Assert.Contains(PricingOptionsValidator.Errors(options), e => e.Contains("already used"));
    }

    [Fact]
    public void Errors_AliasEqualToAnotherModelName_IsReported()
    {
        var options = PricingTestData.Options(("a", PricingTestData.Text()), ("b", PricingTestData.Text(m => m.Aliases = ["A"])));
        Assert.Contains(PricingOptionsValidator.Errors(options), e => e.Contains("already used"));
    }

    [Fact]
    public void Errors_TextModelWithoutEncodingOrFactor_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Encoding = null)), e => e.Contains("encoding or an approximationFactor"));
    }

    [Fact]
    public void Errors_EncodingAndFactorBoth_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.ApproximationFactor = 1.2m)), e => e.Contains("not both"));
    }

    [Fact]
    public void Errors_UnknownEncoding_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Encoding = "p50k_base")), e => e.Contains("unknown encoding"));
    }

    [Fact]
    public void Errors_NoPriceAtAll_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Input = null)), e => e.Contains("no price"));
    }

    [Fact]
    public void Errors_MultiplierWithoutPerRequest_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Multiplier = 1.5m)), e => e.Contains("multiplier"));
    }

    [Fact]
    public void Errors_MissingProvider_IsReported()
    {
        Assert.Contains(Errors(PricingTestData.Text(m => m.Provider = " ")), e => e.Contains("provider"));
    }

    [Fact]
    public void Errors_NegativeActionPrice_IsReported()
    {
        var options = PricingTestData.Options(("m", PricingTestData.Text()));
        options.Actions["draft"] = -2;
        Assert.Contains(PricingOptionsValidator.Errors(options), e => e.Contains("Action 'draft'"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("missing")]
    public void Errors_DefaultPolicyWithoutConfiguredDefaultModel_IsReported(string? defaultModel)
    {
        var options = PricingTestData.Options(("m", PricingTestData.Text()));
        options.UnknownModel = UnknownModelPolicy.Default;
        options.DefaultModel = defaultModel;
        Assert.Contains(PricingOptionsValidator.Errors(options), e => e.Contains("DefaultModel"));
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<OptionsValidationException>(() => new PriceBook(PricingTestData.Options(("m", PricingTestData.Text(m => m.Input = -1)))));
    }

    [Fact]
    public void AddPricing_InvalidConfiguration_FailsStartupValidation()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pricing:Models:m:Provider"] = "openai",
            ["Pricing:Models:m:Encoding"] = "o200k_base",
            ["Pricing:Models:m:PerTokens"] = "0",
            ["Pricing:Models:m:Input"] = "1",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddPricing().BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains("perTokens"));
    }

    [Fact]
    public void AddPricing_DecimalStrings_BindExactly()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pricing:Models:m:Provider"] = "openai",
            ["Pricing:Models:m:Encoding"] = "o200k_base",
            ["Pricing:Models:m:Input"] = "0.075",
            ["Pricing:Models:m:PerRequest"] = "1",
            ["Pricing:Models:m:Multiplier"] = "0.5",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddPricing().BuildServiceProvider();

        Assert.True(services.GetRequiredService<PriceBook>().TryResolve("m", out var price));
        Assert.Equal(new Credits(75_000), price.Input);
        Assert.Equal(new Credits(500_000), price.PerRequest);
    }
}

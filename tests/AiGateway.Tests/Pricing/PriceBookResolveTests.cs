using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

public sealed class PriceBookResolveTests
{
    private static PriceBook Book(UnknownModelPolicy policy = UnknownModelPolicy.Reject)
    {
        var options = PricingTestData.Options(
            ("gpt-4o", PricingTestData.Text(m => m.Aliases = ["openai/gpt-4o"])),
            ("gpt-4o-mini", PricingTestData.Text()),
            ("claude-sonnet-4", PricingTestData.Text(m => m.Aliases = ["anthropic/claude-sonnet-4"])),
            ("gemini-2.5-flash", PricingTestData.Text()),
            ("refly/gpt-4o", PricingTestData.Text()));
        options.UnknownModel = policy;
        options.DefaultModel = policy == UnknownModelPolicy.Default ? "gpt-4o-mini" : null;
        return new PriceBook(options);
    }

    [Theory]
    [InlineData("gpt-4o", "gpt-4o")]
    [InlineData("gpt-4o-mini", "gpt-4o-mini")]
    [InlineData("refly/gpt-4o", "refly/gpt-4o")]
    public void TryResolve_ExactName_ReturnsThatModel(string model, string expected)
    {
        Assert.True(Book().TryResolve(model, out var price));
        Assert.Equal(expected, price.Name);
    }

    [Theory]
    [InlineData("openai/gpt-4o", "gpt-4o")]
    [InlineData("anthropic/claude-sonnet-4", "claude-sonnet-4")]
    public void TryResolve_Alias_ReturnsTheAliasedModel(string model, string expected)
    {
        Assert.True(Book().TryResolve(model, out var price));
        Assert.Equal(expected, price.Name);
    }

    [Theory]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o")]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("anthropic/claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("claude-sonnet-4-latest", "claude-sonnet-4")]
    [InlineData("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash")]
    [InlineData("gemini-2.5-flash-001", "gemini-2.5-flash")]
    [InlineData("refly/gpt-4o-0513", "refly/gpt-4o")]
    public void TryResolve_DatedVariant_ReturnsLongestConfiguredPrefix(string model, string expected)
    {
        Assert.True(Book().TryResolve(model, out var price));
        Assert.Equal(expected, price.Name);
    }

    [Theory]
    [InlineData("GPT-4O")]
    [InlineData("OpenAI/GPT-4o")]
    [InlineData("Gpt-4o-2024-08-06")]
    [InlineData("  gpt-4o ")]
    public void TryResolve_DifferentCaseOrPadding_StillResolves(string model)
    {
        Assert.True(Book().TryResolve(model, out var price));
        Assert.Equal("gpt-4o", price.Name);
    }

    [Theory]
    [InlineData("gpt-5")]
    [InlineData("gpt-4")]
    [InlineData("gpt-4o-audio-preview")]
    [InlineData("claude-sonnet-4-5")]
    [InlineData("gpt-4o-")]
    [InlineData("-gpt-4o")]
    [InlineData("")]
    [InlineData(null)]
    public void TryResolve_UnknownOrDifferentProductUnderRejectPolicy_ReturnsFalse(string? model)
    {
        Assert.False(Book().TryResolve(model, out _));
    }

    [Fact]
    public void TryResolve_UnknownUnderDefaultPolicy_ReturnsDefaultModelPrice()
    {
        var book = Book(UnknownModelPolicy.Default);
        Assert.True(book.TryResolve("some-new-model", out var price));
        Assert.Equal("gpt-4o-mini", price.Name);
        Assert.True(book.TryResolve("gpt-4o", out price));
        Assert.Equal("gpt-4o", price.Name);
    }
}

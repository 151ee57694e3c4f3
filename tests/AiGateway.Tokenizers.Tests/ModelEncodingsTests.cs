namespace AiGateway.Tokenizers.Tests;

public class ModelEncodingsTests
{
    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("gpt-4o-2024-08-06")]
    [InlineData("gpt-4o-mini")]
    [InlineData("chatgpt-4o-latest")]
    [InlineData("gpt-4.1")]
    [InlineData("gpt-4.1-mini-2025-04-14")]
    [InlineData("gpt-4.5-preview")]
    [InlineData("gpt-5")]
    [InlineData("gpt-5-mini")]
    [InlineData("gpt-5.1")]
    [InlineData("o1")]
    [InlineData("o1-mini")]
    [InlineData("o3-mini-2025-01-31")]
    [InlineData("o4-mini")]
    [InlineData("gpt-oss-120b")]
    [InlineData("openai/gpt-4o")]
    [InlineData("ft:gpt-4o-2024-08-06:acme::abc123")]
    [InlineData("o200k_base")]
    public void ForModel_O200kModel_ReturnsO200k(string model)
    {
        Assert.Same(TiktokenEncoding.O200kBase, ModelEncodings.ForModel(model));
    }

    [Theory]
    [InlineData("gpt-4")]
    [InlineData("gpt-4-0613")]
    [InlineData("gpt-4-turbo-2024-04-09")]
    [InlineData("gpt-4-32k")]
    [InlineData("gpt-3.5-turbo")]
    [InlineData("gpt-3.5-turbo-0125")]
    [InlineData("text-embedding-3-small")]
    [InlineData("text-embedding-3-large")]
    [InlineData("text-embedding-ada-002")]
    [InlineData("cl100k_base")]
    public void ForModel_Cl100kModel_ReturnsCl100k(string model)
    {
        Assert.Same(TiktokenEncoding.Cl100kBase, ModelEncodings.ForModel(model));
    }

    [Theory]
    [InlineData("claude-sonnet-4-5")]
    [InlineData("gemini-2.5-pro")]
    [InlineData("deepseek-chat")]
    [InlineData("o10")]
    [InlineData("gpt-4.2")]
    [InlineData("")]
    [InlineData(null)]
    public void ForModel_UnknownModel_ReturnsNull(string? model)
    {
        Assert.Null(ModelEncodings.ForModel(model));
    }

    [Fact]
    public void Count_ApproximateFactor_ScalesO200kCountUp()
    {
        int baseCount = TiktokenEncoding.O200kBase.CountTokens("Hello there, general Kenobi!");
        Assert.Equal((int)Math.Ceiling(baseCount * 1.2), ApproximateCounter.Count("Hello there, general Kenobi!", 1.2));
    }
}

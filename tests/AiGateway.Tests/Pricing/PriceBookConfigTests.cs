using AiGateway.Metering;
using AiGateway.Pricing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.Pricing;

/// <summary>The committed <c>config/prices.json</c> loads through the real options pipeline and carries the seeds' tables.</summary>
public sealed class PriceBookConfigTests : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly PriceBook _book;

    public PriceBookConfigTests()
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("config/prices.json", optional: false)
            .Build();
        _services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddPricing()
            .BuildServiceProvider();
        _book = _services.GetRequiredService<PriceBook>();
    }

    public void Dispose() => _services.Dispose();

    private ModelPrice Resolve(string model)
    {
        Assert.True(_book.TryResolve(model, out var price), $"'{model}' does not resolve");
        return price;
    }

    [Fact]
    public void AddPricing_RealConfig_PassesStartupValidation()
    {
        _services.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal(UnknownModelPolicy.Reject, _book.UnknownModel);
    }

    [Theory]
    [InlineData("refly/", ModelModality.Text, 14)]
    [InlineData("refly/", ModelModality.Image, 12)]
    [InlineData("refly/", ModelModality.Video, 6)]
    [InlineData("refly/", ModelModality.Audio, 5)]
    [InlineData("costrict/", ModelModality.Text, 2)]
    public void Models_SeedNamespace_CarriesTheWholeSeedTable(string prefix, ModelModality modality, int count)
    {
        Assert.Equal(count, _book.Models.Count(m => m.Name.StartsWith(prefix, StringComparison.Ordinal) && m.Modality == modality));
    }

    [Fact]
    public void Models_RealConfig_EveryModelCitesItsSource()
    {
        foreach (var model in _book.Models)
        {
            Assert.False(string.IsNullOrWhiteSpace(model.Source), $"{model.Name} has no source");
            var isSeed = model.Name.StartsWith("refly/", StringComparison.Ordinal) || model.Name.StartsWith("costrict/", StringComparison.Ordinal);
            Assert.True(isSeed ? model.Source!.StartsWith("seeds/", StringComparison.Ordinal) : model.Source!.Contains(", 20", StringComparison.Ordinal),
                $"{model.Name}: source '{model.Source}' names no seed file or month");
        }
    }

    [Theory]
    [InlineData("refly/claude-sonnet-4", 11)]
    [InlineData("refly/claude-opus-4", 53)]
    [InlineData("refly/claude-opus-4.1", 53)]
    [InlineData("refly/claude-3.7-sonnet-thinking", 11)]
    [InlineData("refly/kimi-k2", 2)]
    [InlineData("refly/gpt-4o", 7)]
    [InlineData("refly/gpt-4.1", 6)]
    [InlineData("refly/gpt-oss-120b", 1)]
    [InlineData("refly/gemini-2.5-pro", 7)]
    [InlineData("refly/gemini-2.5-flash", 2)]
    [InlineData("refly/deepseek-v3-0324", 1)]
    [InlineData("refly/deepseek-r1-0528", 2)]
    [InlineData("refly/grok-4", 10)]
    [InlineData("refly/qwen3-coder", 3)]
    public void Cost_ReflyTextModel_ChargesSeedCreditsPer5KTokensWhateverTheSplit(string model, long credits)
    {
        var price = Resolve(model);
        Assert.Equal(Credits.FromCredits(credits), CostCalculator.Cost(price, new CallUsage { InputTokens = 5000 }));
        Assert.Equal(Credits.FromCredits(credits), CostCalculator.Cost(price, new CallUsage { OutputTokens = 5000 }));
        Assert.Equal(Credits.FromCredits(credits), CostCalculator.Cost(price, new CallUsage { InputTokens = 1200, OutputTokens = 3800 }));
    }

    [Theory]
    [InlineData("refly/flux-1.1-pro-ultra", 9)]
    [InlineData("refly/flux-1.1-pro", 6)]
    [InlineData("refly/flux-dev", 4)]
    [InlineData("refly/flux-krea-dev", 4)]
    [InlineData("refly/flux-schnell", 1)]
    [InlineData("refly/recraft-v3", 6)]
    [InlineData("refly/recraft-v3-svg", 12)]
    [InlineData("refly/google/imagen-4", 6)]
    [InlineData("refly/imagen-4-fast", 3)]
    [InlineData("refly/imagen-4-ultra", 9)]
    [InlineData("refly/doubao-seedream-3.0-t2i", 6)]
    [InlineData("refly/qwen-image", 4)]
    public void Cost_ReflyImageModel_ChargesSeedCreditsPerImage(string model, long credits)
    {
        Assert.Equal(Credits.FromCredits(2 * credits), CostCalculator.Cost(Resolve(model), new CallUsage { Images = 2 }));
    }

    [Theory]
    [InlineData("refly/veo-3-fast-audio", 448)]
    [InlineData("refly/veo-3", 840)]
    [InlineData("refly/bytedance/seedance-1-pro", 14)]
    [InlineData("refly/seedance-1-lite", 10)]
    [InlineData("refly/kwaivgi/kling-v2.1-master", 196)]
    [InlineData("refly/wan-2.2-fast", 7)]
    public void Cost_ReflyVideoModel_ChargesSeedCreditsPerSecond(string model, long credits)
    {
        Assert.Equal(Credits.FromCredits(8 * credits), CostCalculator.Cost(Resolve(model), new CallUsage { VideoSeconds = 8 }));
    }

    [Theory]
    [InlineData("refly/suno-ai/bark", 10)]
    [InlineData("refly/lucataco/ace-step", 1)]
    [InlineData("refly/haoheliu/audio-idm", 10)]
    [InlineData("refly/elevenlabs-turbo-v2.5", 35)]
    [InlineData("refly/elevenlabs-multilingual-v2", 70)]
    public void Cost_ReflyAudioModel_ChargesSeedCreditsPerUse(string model, long credits)
    {
        Assert.Equal(Credits.FromCredits(credits), CostCalculator.Cost(Resolve(model), new CallUsage { AudioUses = 1 }));
    }

    [Theory]
    [InlineData("costrict/deepseek-r1", 500_000)]
    [InlineData("costrict/claude", 1_500_000)]
    public void Cost_CoStrictModel_ChargesOneCreditTimesMultiplierPerRequest(string model, long micro)
    {
        var price = Resolve(model);
        Assert.Equal(new Credits(micro), CostCalculator.Cost(price, new CallUsage { InputTokens = 90_000, OutputTokens = 4_000 }));
        Assert.Equal(new Credits(micro), CostCalculator.Cost(price, CallUsage.None));
    }

    [Theory]
    [InlineData("draft", 2)]
    [InlineData("regenerate", 2)]
    [InlineData("automation-draft", 2)]
    [InlineData("cover-image", 1)]
    [InlineData("rewrite", 1)]
    [InlineData("research", 0)]
    public void TryGetAction_StoreWriterAction_ReturnsSeedPrice(string action, long credits)
    {
        Assert.True(_book.TryGetAction(action, out var price));
        Assert.Equal(Credits.FromCredits(credits), price);
    }

    [Fact]
    public void TryGetAction_DraftWithCoverImage_BudgetsThreeCredits()
    {
        Assert.True(_book.TryGetAction("draft", out var draft));
        Assert.True(_book.TryGetAction("Cover-Image", out var cover));
        Assert.Equal(Credits.FromCredits(3), draft + cover);
        Assert.False(_book.TryGetAction("publish", out _));
    }

    [Fact]
    public void Cost_GenericGpt4o_UsesPublishedRateAtOneCreditPerCent()
    {
        // $2.50 / $1.25 cached / $10 per 1M at 1 credit = $0.01 → 250 / 125 / 1000 credits per 1M tokens = that many micro-credits per token.
        var usage = new CallUsage { InputTokens = 10_000, CachedInputTokens = 4_000, OutputTokens = 1_000 };
        // 6,000 × 250 + 4,000 × 125 + 1,000 × 1,000 micro = 1,500,000 + 500,000 + 1,000,000.
        Assert.Equal(new Credits(3_000_000), CostCalculator.Cost(Resolve("gpt-4o-2024-08-06"), usage));
    }

    [Fact]
    public void Cost_GenericClaudeSonnet4_PricesCacheWritesAndReads()
    {
        // Anthropic input 1,000 + cache reads 1,000 + cache writes 4,000 = 6,000 input tokens in CallUsage.
        var usage = new CallUsage { InputTokens = 6_000, CachedInputTokens = 1_000, CacheWriteInputTokens = 4_000, OutputTokens = 500 };
        // 1,000 × 300 + 1,000 × 30 + 4,000 × 375 + 500 × 1,500 micro.
        Assert.Equal(new Credits(300_000 + 30_000 + 1_500_000 + 750_000), CostCalculator.Cost(Resolve("claude-sonnet-4-20250514"), usage));
    }

    [Theory]
    [InlineData("1024x1024", "standard", 4)]
    [InlineData("1792x1024", "hd", 12)]
    [InlineData(null, null, 4)]
    public void Cost_DallE3_ChargesBySizeAndQuality(string? size, string? quality, long credits)
    {
        Assert.Equal(Credits.FromCredits(credits), CostCalculator.Cost(Resolve("dall-e-3"), new CallUsage { Images = 1 }, size, quality));
    }

    [Fact]
    public void Resolve_QritorNames_SelectTheGenericModelsTheSeedNames()
    {
        Assert.Equal("claude-sonnet-4-5", Resolve("qritor/claude-sonnet-4.5").Name);
        Assert.Equal("deepseek-chat", Resolve("qritor/deepseek-v3.2").Name);
    }

    [Fact]
    public void Models_ApproximatedModels_CountWithO200kAndAFactorAboveOne()
    {
        var claude = Resolve("claude-sonnet-4");
        Assert.Equal("o200k_base", claude.Encoding);
        Assert.Equal(1.2m, claude.ApproximationFactor);
        Assert.Equal(1200, claude.ScaleCountedTokens(1000));
        Assert.Equal("cl100k_base", Resolve("text-embedding-3-small").Encoding);
        Assert.Equal(1m, Resolve("gpt-4o").ApproximationFactor);
    }
}

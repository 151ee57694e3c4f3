using AiGateway.Metering;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

public class UsageReaderTests
{
    private static CallUsage Read(Operation operation, string fixture) =>
        UsageReader.FromJson(operation, Fixture.Bytes(fixture)) ?? throw new Xunit.Sdk.XunitException("no usage");

    [Fact]
    public void FromJson_OpenAiChatCachedAndReasoning_AreSubCountsNotExtra()
    {
        var usage = Read(Operation.OpenAiChatCompletions, "openai/chat-completion.json");
        Assert.Equal(2006, usage.InputTokens); // prompt_tokens already includes the 1920 cached
        Assert.Equal(1920, usage.CachedInputTokens);
        Assert.Equal(300, usage.OutputTokens); // completion_tokens already includes the 192 reasoning
        Assert.Equal(192, usage.ReasoningTokens);
    }

    [Fact]
    public void FromJson_OpenAiResponses_ReadsInputOutputAndDetails()
    {
        var usage = Read(Operation.OpenAiResponses, "openai/responses.json");
        Assert.Equal(new CallUsage { InputTokens = 1536, CachedInputTokens = 1024, OutputTokens = 620, ReasoningTokens = 512 }, usage);
    }

    [Fact]
    public void FromJson_OpenAiEmbeddings_ReadsPromptTokensOnly()
    {
        var usage = Read(Operation.OpenAiEmbeddings, "openai/embeddings.json");
        Assert.Equal(new CallUsage { InputTokens = 16 }, usage);
    }

    [Fact]
    public void FromJson_OpenAiImages_CountsDataEntriesAndTokens()
    {
        var usage = Read(Operation.OpenAiImageGenerations, "openai/images.json");
        Assert.Equal(2, usage.Images);
        Assert.Equal(50, usage.InputTokens);
        Assert.Equal(8360, usage.OutputTokens);
    }

    [Fact]
    public void FromJson_OpenAiVideoJob_ReadsSecondsString()
    {
        Assert.Equal(8, Read(Operation.OpenAiVideos, "openai/video.json").VideoSeconds);
    }

    [Fact]
    public void FromJson_OpenAiFailedVideoJob_HasNoUsage()
    {
        Assert.Null(UsageReader.FromJson(Operation.OpenAiVideos, Fixture.Utf8("""{"object":"video","status":"failed","seconds":"8"}""")));
    }

    [Fact]
    public void FromJson_DeepSeekCacheHitField_CountsAsCached()
    {
        var usage = UsageReader.FromJson(Operation.OpenAiChatCompletions,
            Fixture.Utf8("""{"usage":{"prompt_tokens":100,"completion_tokens":5,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}}"""));
        Assert.Equal(64, usage!.CachedInputTokens);
        Assert.Equal(100, usage.InputTokens);
    }

    [Fact]
    public void FromJson_AnthropicSplitCacheUsage_InputIncludesCacheReadsAndWrites()
    {
        var usage = Read(Operation.AnthropicMessages, "anthropic/messages.json");
        // input_tokens (21) excludes cache reads (1800) and writes (188); the gateway's input total includes both.
        Assert.Equal(21 + 1800 + 188, usage.InputTokens);
        Assert.Equal(1800, usage.CachedInputTokens);
        Assert.Equal(188, usage.CacheWriteInputTokens);
        Assert.Equal(393, usage.OutputTokens);
        Assert.Equal(0, usage.ReasoningTokens);
    }

    [Fact]
    public void FromJson_GeminiThoughts_AddToOutputAndCountAsReasoning()
    {
        var usage = Read(Operation.GeminiGenerateContent, "gemini/generate-content.json");
        Assert.Equal(11 + 416, usage.OutputTokens); // candidatesTokenCount excludes thoughts
        Assert.Equal(416, usage.ReasoningTokens);
    }

    [Fact]
    public void FromJson_GeminiCachedContent_IsSubCountOfPrompt()
    {
        var usage = Read(Operation.GeminiGenerateContent, "gemini/generate-content.json");
        Assert.Equal(4096, usage.InputTokens);
        Assert.Equal(4000, usage.CachedInputTokens);
    }

    [Fact]
    public void FromJson_GeminiJsonArrayStream_LastUsageWins()
    {
        var body = """[{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1}},{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}]""";
        Assert.Equal(9, UsageReader.FromJson(Operation.GeminiStreamGenerateContent, Fixture.Utf8(body))!.OutputTokens);
    }

    [Theory]
    [InlineData("""{"id":"x","choices":[]}""")]
    [InlineData("""{"usage":null}""")]
    [InlineData("not json")]
    [InlineData("")]
    public void FromJson_NoUsage_ReturnsNull(string body)
    {
        Assert.Null(UsageReader.FromJson(Operation.OpenAiChatCompletions, Fixture.Utf8(body)));
    }

    [Fact]
    public void FromJson_InconsistentSubCounts_AreClampedToTotals()
    {
        var usage = UsageReader.FromJson(Operation.OpenAiChatCompletions, Fixture.Utf8(
            """{"usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":50},"completion_tokens_details":{"reasoning_tokens":9}}}"""))!;
        Assert.Equal(10, usage.CachedInputTokens);
        Assert.Equal(3, usage.ReasoningTokens);
    }

    [Fact]
    public void FromJson_Unmetered_ReturnsNull()
    {
        Assert.Null(UsageReader.FromJson(Operation.Unmetered, Fixture.Bytes("openai/chat-completion.json")));
    }
}

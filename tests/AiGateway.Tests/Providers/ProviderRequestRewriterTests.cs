using System.Text;
using System.Text.Json;
using AiGateway.Providers;
using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Tests.Providers;

public class ProviderRequestRewriterTests
{
    private static ParsedRequest Parse(ProviderFormat format, string path, string body)
    {
        var result = ProviderRequestParser.Parse(format, path, null, Encoding.UTF8.GetBytes(body));
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Request;
    }

    private static JsonElement Json(byte[]? body)
    {
        Assert.NotNull(body);
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public void EnsureStreamUsage_StreamWithoutOptions_AddsIncludeUsageAndHides()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"héllo ✓"}],"stream":true,"temperature":0.25}""");
        var rewrite = OpenAiRequestRewriter.EnsureStreamUsage(r);
        Assert.True(rewrite.HideUsageChunk);
        var root = Json(rewrite.Body);
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("héllo ✓", root.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal("0.25", root.GetProperty("temperature").GetRawText());
        Assert.Contains("héllo ✓", Encoding.UTF8.GetString(rewrite.Body!)); // not \u-escaped
    }

    [Fact]
    public void EnsureStreamUsage_ClientAskedForUsage_LeavesBodyAndShowsChunk()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions",
            """{"model":"gpt-4o","messages":[],"stream":true,"stream_options":{"include_usage":true}}""");
        var rewrite = OpenAiRequestRewriter.EnsureStreamUsage(r);
        Assert.Null(rewrite.Body);
        Assert.False(rewrite.HideUsageChunk);
    }

    [Fact]
    public void EnsureStreamUsage_IncludeUsageFalse_IsTurnedOnKeepingOtherOptions()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions",
            """{"model":"gpt-4o","messages":[],"stream":true,"stream_options":{"include_usage":false,"include_obfuscation":false}}""");
        var rewrite = OpenAiRequestRewriter.EnsureStreamUsage(r);
        Assert.True(rewrite.HideUsageChunk);
        var options = Json(rewrite.Body).GetProperty("stream_options");
        Assert.True(options.GetProperty("include_usage").GetBoolean());
        Assert.False(options.GetProperty("include_obfuscation").GetBoolean());
        Assert.Single(options.EnumerateObject(), p => p.Name == "include_usage");
    }

    [Fact]
    public void EnsureStreamUsage_NotStreaming_LeavesBody()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions", """{"model":"gpt-4o","messages":[]}""");
        Assert.Same(RequestRewrite.Unchanged, OpenAiRequestRewriter.EnsureStreamUsage(r));
    }

    [Fact]
    public void EnsureStreamUsage_ResponsesApi_LeavesBody()
    {
        // The Responses API always reports usage in response.completed; stream_options would be rejected.
        using var r = Parse(ProviderFormat.OpenAi, "v1/responses", """{"model":"o4-mini","input":"x","stream":true}""");
        Assert.Null(OpenAiRequestRewriter.EnsureStreamUsage(r).Body);
    }

    [Fact]
    public void SetMaxOutputTokens_OpenAiChatClientUsedMaxTokens_KeepsThatField()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions", """{"model":"gpt-4o","messages":[],"max_tokens":4000}""");
        var root = Json(OpenAiRequestRewriter.SetMaxOutputTokens(r, 100));
        Assert.Equal(100, root.GetProperty("max_tokens").GetInt32());
        Assert.False(root.TryGetProperty("max_completion_tokens", out _));
    }

    [Fact]
    public void SetMaxOutputTokens_OpenAiChatNoLimit_DefaultsToMaxCompletionTokens()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions", """{"model":"o3","messages":[]}""");
        var root = Json(OpenAiRequestRewriter.SetMaxOutputTokens(r, 100));
        Assert.Equal(100, root.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(root.TryGetProperty("max_tokens", out _));
    }

    [Fact]
    public void SetMaxOutputTokens_Responses_SetsMaxOutputTokens()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/responses", """{"model":"o4-mini","input":"x","max_output_tokens":9000}""");
        Assert.Equal(100, Json(OpenAiRequestRewriter.SetMaxOutputTokens(r, 100)).GetProperty("max_output_tokens").GetInt32());
    }

    [Fact]
    public void SetMaxOutputTokens_Embeddings_ReturnsNull()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/embeddings", """{"model":"m","input":"x"}""");
        Assert.Null(ProviderRequestRewriter.SetMaxOutputTokens(r, 100));
    }

    [Fact]
    public void SetMaxOutputTokens_Anthropic_ReplacesMaxTokensPreservingOtherFieldsInOrder()
    {
        const string body = """{"model":"claude","max_tokens":8192,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}],"metadata":{"user_id":"u1"}}""";
        using var r = Parse(ProviderFormat.Anthropic, "v1/messages", body);
        var rewritten = AnthropicRequestRewriter.SetMaxOutputTokens(r, 512);
        Assert.Equal(body.Replace("8192", "512"), Encoding.UTF8.GetString(rewritten!));
    }

    [Fact]
    public void SetMaxOutputTokens_GeminiWithoutConfig_CreatesGenerationConfig()
    {
        using var r = Parse(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-pro:generateContent", """{"contents":[{"parts":[{"text":"hi"}]}]}""");
        var root = Json(GeminiRequestRewriter.SetMaxOutputTokens(r, 64));
        Assert.Equal(64, root.GetProperty("generationConfig").GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal("hi", root.GetProperty("contents")[0].GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Fact]
    public void SetMaxOutputTokens_GeminiWithConfig_KeepsOtherSettings()
    {
        using var r = Parse(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-pro:streamGenerateContent",
            """{"contents":[],"generationConfig":{"temperature":0.7,"maxOutputTokens":8000,"thinkingConfig":{"thinkingBudget":1024}}}""");
        var config = Json(ProviderRequestRewriter.SetMaxOutputTokens(r, 64)).GetProperty("generationConfig");
        Assert.Equal(64, config.GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal(0.7, config.GetProperty("temperature").GetDouble());
        Assert.Equal(1024, config.GetProperty("thinkingConfig").GetProperty("thinkingBudget").GetInt32());
    }

    [Fact]
    public void Rewrite_StreamUsageAndClamp_AppliesBothInOnePass()
    {
        using var r = Parse(ProviderFormat.OpenAi, "v1/chat/completions", """{"model":"gpt-4o","messages":[],"stream":true,"max_completion_tokens":9000}""");
        var rewrite = ProviderRequestRewriter.Rewrite(r, maxOutputTokens: 300);
        Assert.True(rewrite.HideUsageChunk);
        var root = Json(rewrite.Body);
        Assert.Equal(300, root.GetProperty("max_completion_tokens").GetInt32());
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public void Rewrite_NothingToChange_ReturnsUnchanged()
    {
        using var r = Parse(ProviderFormat.Anthropic, "v1/messages", """{"model":"claude","messages":[],"stream":true}""");
        Assert.Same(RequestRewrite.Unchanged, ProviderRequestRewriter.Rewrite(r, maxOutputTokens: null));
    }
}

using System.Text;
using System.Text.Json;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

/// <summary>Issue #12 item 7: when a request carries its output limit in several fields, the larger one is what may be generated.</summary>
public class OutputLimitFieldsTests
{
    private static ParsedRequest Parse(ProviderFormat format, string path, string body)
    {
        var result = ProviderRequestParser.Parse(format, path, null, Encoding.UTF8.GetBytes(body));
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Request;
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o","max_completion_tokens":1,"max_tokens":1000000,"messages":[]}""")]
    [InlineData("""{"model":"gpt-4o","max_tokens":1000000,"max_completion_tokens":1,"messages":[]}""")]
    public void OpenAiChat_BothLimits_TheLargerIsTheLimit(string body)
    {
        using var request = Parse(ProviderFormat.OpenAi, "v1/chat/completions", body);
        Assert.Equal(1_000_000, request.MaxOutputTokens);
    }

    [Fact]
    public void OpenAiChat_DuplicateKey_IsRejectedSoNoSecondLimitCanHide()
    {
        var result = ProviderRequestParser.Parse(ProviderFormat.OpenAi, "v1/chat/completions", null,
            Encoding.UTF8.GetBytes("""{"model":"gpt-4o","max_tokens":1,"max_tokens":1000000,"messages":[]}"""));
        Assert.False(result.IsSuccess);
        Assert.Contains("Duplicate property", result.Error!.Message);
    }

    [Fact]
    public void OpenAiCompletions_BestOf_CountsAsChoices()
    {
        using var request = Parse(ProviderFormat.OpenAi, "v1/completions", """{"model":"gpt-3.5-turbo-instruct","prompt":"hi","max_tokens":10,"n":1,"best_of":5}""");
        Assert.Equal(5, request.N);
    }

    [Fact]
    public void Gemini_BothSpellings_TheLargerIsTheLimit()
    {
        using var request = Parse(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1,"max_output_tokens":50000}}""");
        Assert.Equal(50_000, request.MaxOutputTokens);
    }

    [Fact]
    public void Gemini_BothConfigObjects_TheLargerIsTheLimit()
    {
        using var request = Parse(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1},"generation_config":{"maxOutputTokens":60000}}""");
        Assert.Equal(60_000, request.MaxOutputTokens);
    }

    [Fact]
    public void GeminiRewrite_BothConfigObjects_EveryLimitIsSet()
    {
        using var request = Parse(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1,"max_output_tokens":9},"generation_config":{"maxOutputTokens":60000}}""");
        var body = ProviderRequestRewriter.SetMaxOutputTokens(request, 77);
        Assert.NotNull(body);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal(77, root.GetProperty("generationConfig").GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal(77, root.GetProperty("generationConfig").GetProperty("max_output_tokens").GetInt32());
        Assert.Equal(77, root.GetProperty("generation_config").GetProperty("maxOutputTokens").GetInt32());
    }

    [Fact]
    public void OpenAiChatRewrite_BothLimits_BothAreSet()
    {
        using var request = Parse(ProviderFormat.OpenAi, "v1/chat/completions",
            """{"model":"gpt-4o","max_completion_tokens":1,"max_tokens":1000000,"messages":[]}""");
        var root = JsonDocument.Parse(ProviderRequestRewriter.SetMaxOutputTokens(request, 500)!).RootElement;
        Assert.Equal(500, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal(500, root.GetProperty("max_completion_tokens").GetInt32());
    }
}

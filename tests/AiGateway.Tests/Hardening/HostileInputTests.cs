using System.Text;
using AiGateway.Providers;
using AiGateway.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AiGateway.Tests.Hardening;

/// <summary>The parser's refusal of undecodable JSON strings and the provider path guard, without a host.</summary>
public sealed class HostileInputTests
{
    private static RequestParseResult ParseChat(string body) =>
        ProviderRequestParser.Parse(ProviderFormat.OpenAi, "v1/chat/completions", null, Encoding.UTF8.GetBytes(body));

    [Theory]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"\ud800"}]}""")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"a\udc00b"}]}""")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"\ud83e-0":1,"x":2}""")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi","\udfff":{}}]}""")]
    public void Parse_LoneSurrogateEscape_Returns400(string body)
    {
        var result = ParseChat(body);

        Assert.NotNull(result.Error);
        Assert.Equal(400, result.Error!.StatusCode);
    }

    [Fact]
    public void Parse_EscapedSurrogatePairAndEscapedBackslashU_AreAccepted()
    {
        using var request = ParseChat("""{"model":"gpt-4o","messages":[{"role":"user","content":"\ud83d\ude00 and \\ud800 as text"}]}""").Request;

        Assert.NotNull(request);
    }

    [Theory]
    [InlineData("/openai/v1/chat/completions", "/openai/v1/chat/completions", true)]
    [InlineData("/gemini/v1beta/models/gemini-2.5-flash%3AgenerateContent?alt=sse", "/gemini/v1beta/models/gemini-2.5-flash:generateContent", true)]
    [InlineData("/openai/v1/chat/completions?x=a%2Fb//c", "/openai/v1/chat/completions", true)]
    [InlineData("/openai/v1%2Fchat/completions", "/openai/v1%2Fchat/completions", false)]
    [InlineData("/openai/v1//chat/completions", "/openai/v1//chat/completions", false)]
    [InlineData("/openai/v1/%252e%252e/admin", "/openai/v1/%2e%2e/admin", false)]
    [InlineData("/openai/v1/%5c..", "/openai/v1/\\..", false)]
    [InlineData("/openai/v1/a%00", "/openai/v1/a\0", false)]
    public void IsSafe_RawTargetAndDecodedPath_RefusesAmbiguousPaths(string rawTarget, string decodedPath, bool safe)
    {
        var context = new DefaultHttpContext();
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = rawTarget;
        context.Request.Path = new PathString(decodedPath);

        Assert.Equal(safe, ProviderPathGuardMiddleware.IsSafe(context));
    }
}

using AiGateway.Metering;
using AiGateway.Pricing;

namespace AiGateway.Tests.Metering;

/// <summary>Issue #12 item 3: reported usage is cut to what the request allowed.</summary>
public sealed class UsageBoundTests
{
    private static MeteredCall Call(string body) => TestCalls.Chat(body);

    [Fact]
    public void Apply_OutputAboveTheRequestLimitTimesChoices_IsCut()
    {
        var call = Call("""{"model":"m","max_tokens":100,"n":2,"messages":[{"role":"user","content":"hi"}]}""");
        var usage = UsageBound.Apply(call, new CallUsage { InputTokens = 5, OutputTokens = long.MaxValue, ReasoningTokens = long.MaxValue }, new MeteringOptions(), out var clamped);
        Assert.True(clamped);
        Assert.Equal(200, usage.OutputTokens);
        Assert.Equal(200, usage.ReasoningTokens);
        Assert.Equal(5, usage.InputTokens);
    }

    [Fact]
    public void Apply_NoRequestLimit_BoundIsTheModelMaximum()
    {
        var call = Call("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        UsageBound.Apply(call, new CallUsage { OutputTokens = 1_000 }, new MeteringOptions(), out var within);
        Assert.False(within);
        var usage = UsageBound.Apply(call, new CallUsage { OutputTokens = 1_001 }, new MeteringOptions(), out var clamped);
        Assert.True(clamped);
        Assert.Equal(1_000, usage.OutputTokens);
    }

    [Fact]
    public void Apply_InputAboveCountedTimesFactorPlusSlack_IsCutWithoutOverflow()
    {
        var call = Call("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""");
        var options = new MeteringOptions { ReportedInputFactor = 2, ReportedInputSlackTokens = long.MaxValue };
        UsageBound.Apply(call, new CallUsage { InputTokens = long.MaxValue }, options, out var saturated);
        Assert.False(saturated); // the bound saturates at long.MaxValue instead of wrapping negative

        options.ReportedInputSlackTokens = 1_000;
        var usage = UsageBound.Apply(call, new CallUsage { InputTokens = 1_000_000, CachedInputTokens = 1_000_000 }, options, out var clamped);
        Assert.True(clamped);
        Assert.Equal(call.Estimate.InputTokens * 2 + 1_000, usage.InputTokens);
        Assert.Equal(usage.InputTokens, usage.CachedInputTokens);
    }
}

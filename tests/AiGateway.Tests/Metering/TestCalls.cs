using System.Text;
using AiGateway.Accounts;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Tests.Pricing;

namespace AiGateway.Tests.Metering;

/// <summary>A metered call as the middleware builds it, for an OpenAI chat body against one text model "m".</summary>
internal static class TestCalls
{
    /// <summary>One text model, "m", with output priced and at most 1,000 output tokens.</summary>
    private static readonly PriceBook Book = new(PricingTestData.Options(("m", PricingTestData.Text(m => { m.Output = 1; m.MaxOutputTokens = 1_000; }))));

    public static MeteredCall Chat(string body)
    {
        var request = ProviderRequestParser.Parse(ProviderFormat.OpenAi, "v1/chat/completions", null, Encoding.UTF8.GetBytes(body)).Request!;
        var estimate = new CallEstimator(Book, new OutputTokenStats()).Estimate(request).Estimate!;
        return new MeteredCall("r", new CallerAccount(Guid.NewGuid(), Guid.NewGuid(), "agw_test", null), request, estimate, "openai", "openai", DateTimeOffset.UnixEpoch);
    }
}

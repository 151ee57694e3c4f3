using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>
/// Issue #12 items 1 and 7: what is held covers the worst case the gateway lets through. The upstream here reports
/// 30,000 output tokens for a request without an output limit (gpt-4.1: 800 micro-credits per output token, so 24
/// credits; its published maximum output is 32,768 tokens), whatever limit it was sent.
/// </summary>
public sealed class WorstCaseHoldTests : IAsyncLifetime
{
    private const string NoLimitBody = """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""";
    private const string ThirtyThousandTokens = """
        {"id":"c","object":"chat.completion","model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":"long answer"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":8,"completion_tokens":30000,"total_tokens":30008}}
        """;

    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["Plans:clamp-test:overagePolicy"] = "clamp",
            ["Plans:clamp-test:monthlyCredits"] = "0",
            ["Plans:overage-test:overagePolicy"] = "overage",
            ["Plans:overage-test:monthlyCredits"] = "0",
        });
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, ThirtyThousandTokens);
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task ClampPlan_NoOutputLimit_InjectsTheLimitTheHoldCoversAndNeverGoesIntoDebt()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("free-like", plan: "clamp-test", credits: 0);
        await _gateway.GrantAsync(accountId, 10m);
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", NoLimitBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var charged = Header(response, "X-Credits-Charged");
        Assert.True(charged <= 10m, $"charged {charged} on a 10-credit clamp account");
        var sent = JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!;
        var limit = sent["max_completion_tokens"]?.GetValue<int>();
        Assert.True(limit is > 0 and <= 12_500, $"the forwarded limit is {limit?.ToString() ?? "absent"}; 10 credits afford ~12,490 output tokens");
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["overage"]!.GetValue<decimal>());
        Assert.Equal(10m - charged, balance["available"]!.GetValue<decimal>());
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(limit ?? 0, record["outputTokens"]!.GetValue<int>());
        Assert.True(record["usageClamped"]?.GetValue<bool>(), "output above the forwarded limit is flagged");
    }

    [Fact]
    public async Task ClampPlan_200ParallelCallsWithoutLimitOn20Credits_NeverChargesMoreThanGranted()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("free-parallel", plan: "clamp-test", credits: 0);
        await _gateway.GrantAsync(accountId, 20m);
        using var client = new GatewayClient(_gateway, key);

        var results = await ParallelAsync(client, 200);

        Assert.All(results, r => Assert.Contains(r.Status, new[] { 200, 402 }));
        Assert.Contains(results, r => r.Status == 200);
        var charged = results.Sum(r => r.Charged);
        Assert.True(charged <= 20m, $"charged {charged} of 20 granted");
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["overage"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.Equal(20m - charged, balance["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task OveragePlan_200ParallelCallsWithoutLimit_HoldTheWorstCaseSoNoDebt()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("paid-parallel", plan: "overage-test", credits: 0);
        await _gateway.GrantAsync(accountId, 100m);
        using var client = new GatewayClient(_gateway, key);

        var results = await ParallelAsync(client, 200);

        Assert.All(results, r => Assert.Contains(r.Status, new[] { 200, 402 }));
        Assert.Contains(results, r => r.Status == 200);
        // Each admitted call held input + 32,768 output tokens (26.21 credits) and used 30,000 (24): within its hold; a
        // call admitted on a smaller balance had that balance's limit written into it and is charged at most that.
        var charged = results.Sum(r => r.Charged);
        Assert.True(charged <= 100m, $"charged {charged} of 100 granted");
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["overage"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.Equal(100m - charged, balance["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task OveragePlan_NoOutputLimitAndBalanceBelowWorstCase_WritesTheAffordableLimitIntoTheRequest()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("paid-low", plan: "overage-test", credits: 0);
        await _gateway.GrantAsync(accountId, 10m);
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", NoLimitBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!;
        Assert.InRange(sent["max_completion_tokens"]?.GetValue<int>() ?? 0, 1_024, 12_500);
        Assert.True(Header(response, "X-Credits-Charged") <= 10m);
        Assert.Equal(0m, (await client.BalanceAsync())["overage"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task NoOutputLimit_EstimateIsExpectedCostAndHeldIsTheWorstCase()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync("headers", credits: 1000);
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", NoLimitBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Credits-Held"), "X-Credits-Held is missing");
        var held = Header(response, "X-Credits-Held");
        var estimate = Header(response, "X-Credits-Estimate");
        Assert.True(held >= 32_768 * 0.0008m, $"held {held} does not cover 32,768 output tokens");
        Assert.True(estimate < held, $"estimate {estimate} should be the expected cost, below the hold {held}");
    }

    [Fact]
    public async Task Refused_402NamesTheEstimateAndTheHold()
    {
        // 0.5 credits afford ~620 output tokens: below the 1,024 expected, so the call is refused rather than cut short.
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("poor", plan: "overage-test", credits: 0);
        await _gateway.GrantAsync(accountId, 0.5m);
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", NoLimitBody);

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Credits-Held"), "X-Credits-Held is missing on the 402");
        var message = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["message"]!.GetValue<string>();
        Assert.Contains(Header(response, "X-Credits-Estimate").ToString(CultureInfo.InvariantCulture), message);
        Assert.Contains(Header(response, "X-Credits-Held").ToString(CultureInfo.InvariantCulture), message);
        Assert.Empty(await _upstream.ReceivedAsync());
    }

    [Fact]
    public async Task Estimate_LearnsTypicalOutputOfTheModelFromRecentCalls()
    {
        var scope = (await SharedWireMock.GetAsync()).NewScope();
        await using var gateway = new GatewayFactory(scope);
        await scope.StubJsonAsync("POST", "/v1/chat/completions", 200,
            """{"id":"c","object":"chat.completion","model":"gpt-4.1-mini","choices":[{"index":0,"message":{"role":"assistant","content":"short"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":20,"total_tokens":28}}""");
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync("learn", credits: 1000);
        using var client = new GatewayClient(gateway, key);
        const string body = """{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}""";

        decimal first = 0, last = 0;
        for (var i = 0; i < 12; i++)
        {
            using var response = await client.PostJsonAsync("/openai/v1/chat/completions", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (i == 0) first = Header(response, "X-Credits-Estimate");
            last = Header(response, "X-Credits-Estimate");
        }

        // 1,024 default output tokens at first; answers of 20 tokens pull the expected output (and the estimate) down.
        Assert.True(last < first / 2, $"estimate stayed at {last} (first {first}) after answers of 20 tokens");
    }

    [Fact]
    public async Task BothOpenAiLimits_TheLargerOneIsHeld()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync("two-limits", credits: 1000);
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4.1","max_completion_tokens":1,"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // An upstream honouring max_tokens may generate 100,000 tokens (80 credits): that is what must be held.
        var held = response.Headers.Contains("X-Credits-Held") ? Header(response, "X-Credits-Held") : Header(response, "X-Credits-Estimate");
        Assert.True(held >= 80m, $"held {held} for a request allowing 100,000 output tokens");
    }

    [Fact]
    public async Task ClampPlan_ReportedInputAboveTheHoldWithinTheBound_ChargesAtMostTheHold()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("free-input", plan: "clamp-test", credits: 0);
        await _gateway.GrantAsync(accountId, 1m);
        using var client = new GatewayClient(_gateway, key);
        // 100,000 input tokens (e.g. an image or file the gateway cannot count) at 200 micro-credits each: 20 credits.
        await _upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["body"] = ThirtyThousandTokens.Replace("\"prompt_tokens\":8", "\"prompt_tokens\":100000"),
        }, priority: 1);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4.1","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["overage"]!.GetValue<decimal>());
        var held = Header(response, "X-Credits-Held");
        Assert.True(Header(response, "X-Credits-Charged") <= held, $"charged {Header(response, "X-Credits-Charged")} above the hold {held}");
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.True(record["usageClamped"]?.GetValue<bool>(), "the capped charge is not flagged");
    }

    [Fact]
    public async Task ClampPlan_AnthropicAndGeminiWithoutLimit_GetTheLimitTheHoldCovers()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("free-others", plan: "clamp-test", credits: 0);
        await _gateway.GrantAsync(accountId, 1000m);
        using var client = new GatewayClient(_gateway, key);
        await _upstream.StubJsonAsync("POST", "/v1/messages", 200,
            """{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":5,"output_tokens":3}}""");
        await _upstream.StubJsonAsync("POST", "/v1beta/models/gemini-2.5-flash:generateContent", 200,
            """{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3}}""");

        using var anthropic = await client.PostJsonAsync("/anthropic/v1/messages",
            """{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}""");
        using var gemini = await client.PostJsonAsync("/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.5}}""");

        Assert.Equal(HttpStatusCode.OK, anthropic.StatusCode);
        Assert.Equal(HttpStatusCode.OK, gemini.StatusCode);
        var received = await _upstream.ReceivedAsync();
        var sentAnthropic = JsonNode.Parse(received.Single(r => r.Url.EndsWith("/v1/messages", StringComparison.Ordinal)).Body)!;
        Assert.Equal(64_000, sentAnthropic["max_tokens"]?.GetValue<int>());
        var sentGemini = JsonNode.Parse(received.Single(r => r.Url.Contains("gemini-2.5-flash", StringComparison.Ordinal)).Body)!;
        Assert.Equal(65_536, sentGemini["generationConfig"]?["maxOutputTokens"]?.GetValue<int>());
        Assert.Equal(0.5, sentGemini["generationConfig"]!["temperature"]!.GetValue<double>());
    }

    private static async Task<(int Status, decimal Charged)[]> ParallelAsync(GatewayClient client, int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(async () =>
        {
            using var response = await client.PostJsonAsync("/openai/v1/chat/completions", NoLimitBody);
            var charged = response.Headers.Contains("X-Credits-Charged") ? Header(response, "X-Credits-Charged") : 0m;
            return ((int)response.StatusCode, charged);
        })));

    private static decimal Header(HttpResponseMessage response, string name) =>
        decimal.Parse(response.Headers.GetValues(name).Single(), CultureInfo.InvariantCulture);
}

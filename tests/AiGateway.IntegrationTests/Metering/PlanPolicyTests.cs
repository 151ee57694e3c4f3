using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>Plan policies through the real pipeline: clamp under parallel load, and unlimited models.</summary>
public sealed class PlanPolicyTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["Plans:clamp-test:overagePolicy"] = "clamp",
            ["Plans:clamp-test:monthlyCredits"] = "0",

        });
        // The upstream honours the (possibly clamped) limit: it reports exactly max_tokens output tokens.
        await _upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["body"] = """{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":100,"completion_tokens":{{jsonPath request.body '$.max_tokens'}},"total_tokens":0}}""",
            ["transformers"] = new JsonArray("response-template"),
        });
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Clamp_100ParallelCallsAgainstBalanceFor20_NeverOverdrawsAndRefusesTheRest()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("clamp", plan: "clamp-test", credits: 0);
        using var client = new GatewayClient(_gateway, key);
        var body = JsonSerializerBody(string.Join(' ', Enumerable.Repeat("lorem", 2000)));
        using var estimateResponse = await client.PostJsonAsync("/v1/credits/estimate/openai/v1/chat/completions", body);
        var estimate = (await estimateResponse.Content.ReadFromJsonAsync<JsonObject>())!["credits"]!.GetValue<decimal>();
        var granted = estimate * 20;
        await _gateway.GrantAsync(accountId, granted);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
        {
            using var response = await client.PostJsonAsync("/openai/v1/chat/completions", body);
            var charged = response.Headers.TryGetValues("X-Credits-Charged", out var v) ? decimal.Parse(v.Single(), CultureInfo.InvariantCulture) : 0m;
            return ((int)response.StatusCode, charged);
        })));

        Assert.All(responses, r => Assert.Contains(r.Item1, new[] { 200, 402 }));
        Assert.True(responses.Count(r => r.Item1 == 200) >= 20, "the balance covers 20 calls at their estimate");
        Assert.Contains(responses, r => r.Item1 == 402);
        var balance = await client.BalanceAsync();
        var totalCharged = responses.Sum(r => r.charged);
        Assert.True(totalCharged <= granted, $"charged {totalCharged} of {granted}");
        Assert.Equal(granted - totalCharged, balance["available"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["overage"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Clamp_BalanceBelowRequestedOutput_LowersMaxTokensInsteadOfRefusing()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync("clamp-one", plan: "clamp-test", credits: 0);
        await _gateway.GrantAsync(accountId, 0.1m); // 100,000 micro: far below 2,000 output tokens × 1,000 micro
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","max_tokens":2000,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!;
        var limit = sent["max_tokens"]!.GetValue<int>();
        Assert.InRange(limit, 1, 99);
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.True(record["clamped"]!.GetValue<bool>());
        Assert.True(await client.AvailableAsync() >= 0m);
    }

    [Fact]
    public async Task UnlimitedModelOnPlan_ChargesZeroButRecordsTokens()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync("early", plan: "early-bird", credits: 5);
        using var client = new GatewayClient(_gateway, key);
        var before = await client.AvailableAsync();

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0", response.Headers.GetValues("X-Credits-Charged").Single());
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.True(record["unlimited"]!.GetValue<bool>());
        Assert.Equal(100, record["inputTokens"]!.GetValue<long>());
        Assert.Equal(50, record["outputTokens"]!.GetValue<long>());
        Assert.Equal(0m, record["credits"]!.GetValue<decimal>());
        Assert.Equal(before, await client.AvailableAsync());
    }

    private static string JsonSerializerBody(string prompt) =>
        new JsonObject
        {
            ["model"] = "gpt-4o",
            ["max_tokens"] = 500,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        }.ToJsonString();
}

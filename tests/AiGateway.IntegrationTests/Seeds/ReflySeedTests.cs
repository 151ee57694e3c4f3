using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// The rules of seeds/refly-credits.txt through the real gateway, priced from the <c>refly/...</c> models of
/// config/prices.json. Text models cost N credits per 5,000 tokens, rounded up per line item to a micro-credit.
/// </summary>
public sealed class ReflySeedTests : SeedTestBase
{
    [Theory]
    [InlineData("refly/kimi-k2", 0.0116)]        // 19 × 2/5000 + 10 × 2/5000 = 0.0076 + 0.004
    [InlineData("refly/claude-opus-4", 0.3074)]  // 19 × 53/5000 + 10 × 53/5000 = 0.2014 + 0.106
    public async Task TextModels_PricedPer5KTokens(string model, decimal expected)
    {
        var (_, client) = await NewAccountAsync(credits: 10);

        using var response = await ChatAsync(client, model);

        Assert.Equal(expected, Header(response, "X-Credits-Charged"));
        Assert.Equal(10m - expected, await client.AvailableAsync());
    }

    [Fact]
    public async Task ImageModels_PricedPerImage()
    {
        await Upstream.StubJsonAsync("POST", "/v1/images/generations", 200,
            """{"created":1741569952,"data":[{"url":"https://img/1.png"},{"url":"https://img/2.png"}]}""");
        var (_, client) = await NewAccountAsync(credits: 100);

        using var response = await client.PostJsonAsync("/openai/v1/images/generations", """{"model":"refly/flux-dev","prompt":"a cat","n":2}""");

        Assert.Equal(8m, Header(response, "X-Credits-Charged")); // 2 images × 4
        Assert.Equal(2, (await client.CallAsync(RequestId(response)))["images"]!.GetValue<int>());
    }

    [Fact]
    public async Task VideoModels_PricedPerSecond()
    {
        await Upstream.StubJsonAsync("POST", "/v1/videos", 200,
            """{"id":"video_1","object":"video","model":"refly/seedance-1-lite","status":"queued","progress":0,"seconds":"4","size":"720x1280"}""");
        var (_, client) = await NewAccountAsync(credits: 100);

        using var response = await client.PostJsonAsync("/openai/v1/videos", """{"model":"refly/seedance-1-lite","prompt":"a cat","seconds":"4"}""");
        await Upstream.StubJsonAsync("GET", "/v1/videos/video_1", 200,
            """{"id":"video_1","object":"video","model":"refly/seedance-1-lite","status":"completed","progress":100,"seconds":"4","size":"720x1280"}""");
        using var poll = await client.Http.GetAsync("/openai/v1/videos/video_1");

        Assert.Equal(0m, Header(response, "X-Credits-Charged")); // queued: held, charged when completed
        Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
        Assert.Equal(100m - 40m, await client.AvailableAsync()); // 4 s × 10
    }

    [Fact]
    public async Task AudioModels_PricedPerUse()
    {
        var (_, client) = await NewAccountAsync(credits: 100);

        using var response = await ChatAsync(client, "refly/bark");

        Assert.Equal(10m, Header(response, "X-Credits-Charged"));
        Assert.Equal(1, (await client.CallAsync(RequestId(response)))["audioUses"]!.GetValue<int>());
    }

    [Fact]
    public async Task DailyCredits_RefreshEachDay_DoNotAccumulate()
    {
        var (_, client) = await NewAccountAsync(plan: "refly-free");
        using (var first = await ChatAsync(client, "refly/kimi-k2")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(100m - 0.0116m, await client.AvailableAsync());

        Clock.Advance(TimeSpan.FromDays(1));
        using (var second = await ChatAsync(client, "refly/kimi-k2")) Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        // Yesterday's 99.9884 expired at midnight: only today's 100 remain, less today's call.
        Assert.Equal(100m - 0.0116m, await client.AvailableAsync());
    }

    [Fact]
    public async Task EarlyBirdUnlimitedModels_RecordedAtZero_OtherModelsCharged()
    {
        var (_, client) = await NewAccountAsync(plan: "refly-early-bird", credits: 10);

        using var unlimited = await ChatAsync(client, "refly/claude-sonnet-4");
        using var charged = await ChatAsync(client, "refly/claude-opus-4");

        Assert.Equal(0m, Header(unlimited, "X-Credits-Charged"));
        var record = await client.CallAsync(RequestId(unlimited));
        Assert.True(record["unlimited"]!.GetValue<bool>());
        Assert.Equal(10, record["outputTokens"]!.GetValue<long>());
        Assert.Equal(0.3074m, Header(charged, "X-Credits-Charged"));
    }

    [Fact]
    public async Task EstimateShownBeforeEachCall_DryRunMatchesTheCallsEstimateHeader()
    {
        var (_, client) = await NewAccountAsync(credits: 10);
        const string body = """{"model":"refly/kimi-k2","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";

        using var dryRun = await client.PostJsonAsync("/v1/credits/estimate/openai/v1/chat/completions", body);
        var estimate = (await dryRun.Content.ReadFromJsonAsync<JsonObject>())!["credits"]!.GetValue<decimal>();
        Assert.Equal(10m, await client.AvailableAsync());
        using var call = await client.PostJsonAsync("/openai/v1/chat/completions", body);

        Assert.True(estimate > 0);
        Assert.Equal(estimate, Header(call, "X-Credits-Estimate"));
    }

    [Fact]
    public async Task BonusCreditsOnlyForAdvancedModels_ScopedLotPaysForOpus_KimiRefused()
    {
        var (accountId, client) = await NewAccountAsync();
        await AdminPostAsync($"/admin/accounts/{accountId}/grants",
            new { kind = "bonus", credits = 10m, reason = "monthly bonus", models = new[] { "refly/claude-opus-*" }, modalities = new[] { "text" } });
        var forwardedBefore = (await Upstream.ReceivedAsync()).Count(r => r.Method == "POST");

        using var opus = await ChatAsync(client, "refly/claude-opus-4");
        using var kimi = await ChatAsync(client, "refly/kimi-k2");

        Assert.Equal(HttpStatusCode.OK, opus.StatusCode);
        Assert.Equal(0.3074m, Header(opus, "X-Credits-Charged"));
        Assert.Equal(HttpStatusCode.PaymentRequired, kimi.StatusCode);
        Assert.Equal("insufficient_quota", (await kimi.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(forwardedBefore + 1, (await Upstream.ReceivedAsync()).Count(r => r.Method == "POST"));
        var lot = Assert.Single(await LotsAsync(client));
        Assert.Equal(10m - 0.3074m, lot["remaining"]!.GetValue<decimal>());
        Assert.Equal("refly/claude-opus-*", lot["models"]!.AsArray().Single()!.GetValue<string>());
        Assert.Equal("text", lot["modalities"]!.AsArray().Single()!.GetValue<string>());
    }
}

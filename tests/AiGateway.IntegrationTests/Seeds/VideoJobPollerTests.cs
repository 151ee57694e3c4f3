using System.Net;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// The gateway polls the video jobs it created itself: a job is settled when it completes (or released when it
/// fails) even if the client never polls through the gateway, and exactly once when the client polls too.
/// <c>sora-2</c>: 10 credits per second, so an 8-second job costs 80.
/// </summary>
public sealed class VideoJobPollerTests : SeedTestBase
{
    private const string Create = """{"model":"sora-2","prompt":"a cat","seconds":"8"}""";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Metering:MaxAttempts"] = "1",
        ["Metering:VideoPollInterval"] = "00:00:00.200",
        ["Metering:VideoPollMaxInterval"] = "00:00:00.400",
    };

    [Fact]
    public async Task VideoJob_ClientNeverPolls_GatewayPollsAndChargesOnCompletion()
    {
        var (_, client) = await NewAccountAsync(credits: 100);
        await StubJobAsync("POST", "/v1/videos", "video_never_polled", "queued");
        await StubJobAsync("GET", "/v1/videos/video_never_polled", "video_never_polled", "in_progress");

        using var created = await client.PostJsonAsync("/openai/v1/videos", Create);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(80m, (await client.BalanceAsync())["held"]!.GetValue<decimal>());
        // The client only fetches the content (passed through, never metered); the job completes upstream.
        await StubJobAsync("GET", "/v1/videos/video_never_polled", "video_never_polled", "completed");
        await Upstream.StubAsync("GET", "/v1/videos/video_never_polled/content", new JsonObject { ["status"] = 200, ["body"] = "mp4" });
        using (var content = await client.Http.GetAsync("/openai/v1/videos/video_never_polled/content")) Assert.Equal(HttpStatusCode.OK, content.StatusCode);

        var balance = await WaitForNothingHeldAsync(client);

        Assert.Equal((0m, 20m), (balance["held"]!.GetValue<decimal>(), balance["available"]!.GetValue<decimal>()));
        var record = await WaitForOutcomeOnRecordAsync(client, RequestId(created));
        Assert.Equal((80m, "provider"), (record["credits"]!.GetValue<decimal>(), record["usageSource"]!.GetValue<string>()));
        var polls = (await Upstream.ReceivedAsync()).Where(r => r.Method == "GET" && r.Url.EndsWith("/v1/videos/video_never_polled")).ToList();
        Assert.NotEmpty(polls);
        // The gateway polled with the provider's key, never the client's.
        Assert.All(polls, p => Assert.Equal("Bearer " + Infrastructure.GatewayFactory.ProviderKeys["OPENAI_API_KEY"], p.Headers["Authorization"]));
    }

    [Fact]
    public async Task VideoJob_FailsUpstream_GatewayPollsAndReleasesTheHold()
    {
        var (_, client) = await NewAccountAsync(credits: 100);
        await StubJobAsync("POST", "/v1/videos", "video_failing", "queued");
        await StubJobAsync("GET", "/v1/videos/video_failing", "video_failing", "failed");

        using var created = await client.PostJsonAsync("/openai/v1/videos", Create);
        var balance = await WaitForNothingHeldAsync(client);

        Assert.Equal(100m, balance["available"]!.GetValue<decimal>());
        var record = await WaitForOutcomeOnRecordAsync(client, RequestId(created));
        Assert.Equal((0m, "none"), (record["credits"]!.GetValue<decimal>(), record["usageSource"]!.GetValue<string>()));
    }

    [Fact]
    public async Task VideoJob_ClientAndGatewayPollTogether_ChargedExactlyOnce()
    {
        var (_, client) = await NewAccountAsync(credits: 200);
        await StubJobAsync("POST", "/v1/videos", "video_both", "queued");
        await StubJobAsync("GET", "/v1/videos/video_both", "video_both", "completed");

        using var created = await client.PostJsonAsync("/openai/v1/videos", Create);
        // The client polls in parallel while the gateway's poller runs.
        var polls = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var poll = await client.Http.GetAsync("/openai/v1/videos/video_both");
            return poll.StatusCode;
        })));
        var balance = await WaitForNothingHeldAsync(client);
        // Let the poller run a few more rounds: a resolved job must not be charged again.
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.All(polls, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(120m, (await client.BalanceAsync())["available"]!.GetValue<decimal>());
        Assert.Equal(120m, balance["available"]!.GetValue<decimal>());
        Assert.Equal(80m, (await WaitForOutcomeOnRecordAsync(client, RequestId(created)))["credits"]!.GetValue<decimal>());
    }

    /// <summary>The creating call's record once it shows the job's outcome (the poller settles first, then updates the record).</summary>
    private static async Task<JsonObject> WaitForOutcomeOnRecordAsync(Infrastructure.GatewayClient client, string requestId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var record = await client.CallAsync(requestId);
            if (record["usageSource"]!.GetValue<string>() != "pending") return record;
            Assert.True(DateTime.UtcNow < deadline, "the creating call's record still shows the job pending: " + record.ToJsonString());
            await Task.Delay(100);
        }
    }

    private static async Task<JsonObject> WaitForNothingHeldAsync(Infrastructure.GatewayClient client)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var balance = await client.BalanceAsync();
            if (balance["held"]!.GetValue<decimal>() == 0m) return balance;
            Assert.True(DateTime.UtcNow < deadline, "the video job's hold is still open: nobody settled it; balance " + balance.ToJsonString());
            await Task.Delay(100);
        }
    }

    private Task StubJobAsync(string method, string path, string id, string status) =>
        Upstream.StubJsonAsync(method, path, 200,
            $$"""{"id":"{{id}}","object":"video","model":"sora-2","status":"{{status}}","progress":0,"seconds":"8","size":"720x1280"}""");
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// Asynchronous video (Refly per-second video): creating a job holds its price, a status poll showing it completed
/// settles the hold, one showing it failed releases it. <c>refly/seedance-1-lite</c>: 10 credits per second.
/// </summary>
public sealed class AsyncVideoTests : SeedTestBase
{
    private const string Create = """{"model":"refly/seedance-1-lite","prompt":"a cat","seconds":"4"}""";

    [Fact]
    public async Task AsyncVideo_QueuedThenCompleted_HeldAtCreationChargedOnceOnCompletion()
    {
        var (_, client) = await NewAccountAsync(credits: 100);
        await StubJobAsync("POST", "/v1/videos", "queued");

        using var created = await client.PostJsonAsync("/openai/v1/videos", Create);
        var afterCreate = await client.BalanceAsync();
        await StubJobAsync("GET", "/v1/videos/video_1", "in_progress");
        using (var running = await client.Http.GetAsync("/openai/v1/videos/video_1")) Assert.Equal(HttpStatusCode.OK, running.StatusCode);
        var whileRunning = await client.AvailableAsync();
        await StubJobAsync("GET", "/v1/videos/video_1", "completed");
        using var done = await client.Http.GetAsync("/openai/v1/videos/video_1");
        using var again = await client.Http.GetAsync("/openai/v1/videos/video_1");

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal((40m, 60m), (afterCreate["held"]!.GetValue<decimal>(), afterCreate["available"]!.GetValue<decimal>()));
        Assert.Equal(60m, whileRunning);
        Assert.Equal("completed", (await done.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>()); // body passed through
        var balance = await client.BalanceAsync();
        Assert.Equal((0m, 60m), (balance["held"]!.GetValue<decimal>(), balance["available"]!.GetValue<decimal>()));
        Assert.Equal(40m, (await client.CallAsync(RequestId(created)))["credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task AsyncVideo_QueuedThenFailed_HoldReleasedNothingCharged()
    {
        var (_, client) = await NewAccountAsync(credits: 100);
        await StubJobAsync("POST", "/v1/videos", "queued");

        using var created = await client.PostJsonAsync("/openai/v1/videos", Create);
        await StubJobAsync("GET", "/v1/videos/video_1", "failed");
        using var failed = await client.Http.GetAsync("/openai/v1/videos/video_1");

        var balance = await client.BalanceAsync();
        Assert.Equal((0m, 100m), (balance["held"]!.GetValue<decimal>(), balance["available"]!.GetValue<decimal>()));
    }

    [Fact]
    public async Task AsyncVideo_PollByAnotherAccount_DoesNotResolveTheJob()
    {
        var (_, owner) = await NewAccountAsync(credits: 100);
        var (_, stranger) = await NewAccountAsync(credits: 100);
        await StubJobAsync("POST", "/v1/videos", "queued");
        using var created = await owner.PostJsonAsync("/openai/v1/videos", Create);
        await StubJobAsync("GET", "/v1/videos/video_1", "failed");

        using var poll = await stranger.Http.GetAsync("/openai/v1/videos/video_1");

        Assert.Equal(40m, (await owner.BalanceAsync())["held"]!.GetValue<decimal>());
    }

    private Task StubJobAsync(string method, string path, string status) =>
        Upstream.StubJsonAsync(method, path, 200,
            $$"""{"id":"video_1","object":"video","model":"refly/seedance-1-lite","status":"{{status}}","progress":0,"seconds":"4","size":"720x1280"}""");
}

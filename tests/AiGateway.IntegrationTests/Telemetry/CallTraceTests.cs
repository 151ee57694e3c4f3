using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using AiGateway.IntegrationTests.Infrastructure;
using AiGateway.Telemetry;

namespace AiGateway.IntegrationTests.Telemetry;

/// <summary>One <c>aigateway.call</c> activity per metered call with its admit, forward and settle steps as children.</summary>
public sealed class CallTraceTests : IAsyncLifetime, IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public CallTraceTests()
    {
        // Activity sources are process-wide: other tests' calls are told apart by request id below.
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GatewayActivitySource.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        await MetricsEndpointTests.StubAsync(_upstream);
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    public void Dispose() => _listener.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MeteredCall_HasOneCallActivity_WithAdmitForwardAndSettleChildren_AndNoPromptOrKey(bool stream)
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(_gateway, key);
        using var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            $$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"secret prompt words"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        await client.CallAsync(requestId); // the record is written after the call's activity has its final tags

        var root = await WaitForAsync(() => _stopped.SingleOrDefault(a => a.OperationName == "aigateway.call" && (a.GetTagItem("aigateway.request_id") as string) == requestId));
        Assert.Equal("openai", root.GetTagItem("aigateway.provider"));
        Assert.Equal("gpt-4o", root.GetTagItem("aigateway.model"));
        Assert.Equal(200, root.GetTagItem("http.response.status_code"));
        Assert.Equal("provider", root.GetTagItem("aigateway.usage_source"));
        var ofCall = _stopped.Where(a => a.TraceId == root.TraceId).ToList();
        var admit = Assert.Single(ofCall, a => a.OperationName == "aigateway.admit");
        var forward = Assert.Single(ofCall, a => a.OperationName == "aigateway.forward");
        var settle = Assert.Single(ofCall, a => a.OperationName == "aigateway.settle");
        Assert.Equal(root.SpanId, admit.ParentSpanId);
        Assert.Equal(root.SpanId, forward.ParentSpanId);
        // Settling happens as the response passes through the forwarder.
        Assert.Equal(forward.SpanId, settle.ParentSpanId);
        Assert.True(admit.StartTimeUtc <= forward.StartTimeUtc);
        foreach (var activity in ofCall)
        foreach (var (name, value) in activity.TagObjects)
        {
            Assert.DoesNotContain("secret prompt", value?.ToString() ?? "");
            Assert.DoesNotContain(key[..12], value?.ToString() ?? "");
            Assert.DoesNotContain("account", name);
        }
    }

    [Fact]
    public async Task RefusedCall_HasCallActivityWith402_AndNoForward()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 0);
        using var client = new GatewayClient(_gateway, key);
        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();

        var root = await WaitForAsync(() => _stopped.SingleOrDefault(a => a.OperationName == "aigateway.call" && (a.GetTagItem("aigateway.request_id") as string) == requestId));
        Assert.Equal(402, root.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Error, root.Status);
        var ofCall = _stopped.Where(a => a.TraceId == root.TraceId).ToList();
        Assert.Single(ofCall, a => a.OperationName == "aigateway.admit");
        Assert.DoesNotContain(ofCall, a => a.OperationName is "aigateway.forward" or "aigateway.settle");
    }

    /// <summary>Waits for the activity to stop (the response can reach the client just before the call's activity ends).</summary>
    private static async Task<Activity> WaitForAsync(Func<Activity?> find)
    {
        for (var i = 0; ; i++)
        {
            if (find() is { } found) return found;
            if (i > 100) throw new Xunit.Sdk.XunitException("the call's activity never stopped");
            await Task.Delay(50);
        }
    }
}

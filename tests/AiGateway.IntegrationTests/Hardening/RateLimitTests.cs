using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>Per-key and per-account request rates and the per-account concurrency cap on provider routes.</summary>
public sealed class RateLimitTests
{
    private static Dictionary<string, string?> Limits(int perKey, int perAccount, int concurrent) => new()
    {
        ["RateLimits:PerKeyPerMinute"] = perKey.ToString(),
        ["RateLimits:PerAccountPerMinute"] = perAccount.ToString(),
        ["RateLimits:ConcurrentPerAccount"] = concurrent.ToString(),
    };

    private static async Task<HttpStatusCode> CallAsync(HardeningHost host, Target target, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, HardeningHost.PathOf(target))
        {
            Content = new StringContent(HardeningHost.GoodBody(target), Encoding.UTF8, "application/json"),
        };
        HardeningHost.AddKey(request, target, key);
        using var response = await host.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Theory]
    [InlineData(Target.OpenAi, "rate_limit_exceeded")]
    [InlineData(Target.Anthropic, "rate_limit_error")]
    [InlineData(Target.Gemini, "RESOURCE_EXHAUSTED")]
    public async Task PerKeyLimit_OverLimit_Returns429WithRetryAfterInProviderShape(Target target, string errorType)
    {
        var host = await HardeningHost.StartAsync(Limits(perKey: 2, perAccount: 0, concurrent: 0));
        await using var cleanup = new Disposer(host);
        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, target, host.Key));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, target, host.Key));
        var received = await host.ReceivedCountAsync();
        var before = await host.BalanceAsync();

        using var response = await host.SendAsync(target, HardeningHost.GoodBody(target));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        // Two per minute refill one token every 30 s.
        var retryAfter = int.Parse(response.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 30);
        var body = await HardeningHost.JsonOf(response);
        Assert.Equal(errorType, HardeningHost.ErrorTypeOf(target, body));
        if (target == Target.Gemini) Assert.Equal(429, body!["error"]!["code"]!.GetValue<int>());
        if (target == Target.OpenAi) Assert.Equal("rate_limit_exceeded", body!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(received, await host.ReceivedCountAsync());
        Assert.Equal(before, await host.BalanceAsync());
    }

    [Fact]
    public async Task PerKeyLimit_OneKeyExhausted_OtherKeysOfTheAccountStillServed()
    {
        var host = await HardeningHost.StartAsync(Limits(perKey: 2, perAccount: 0, concurrent: 0));
        await using var cleanup = new Disposer(host);
        var second = await host.CreateKeyAsync();
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.OpenAi, host.Key));
        Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(host, Target.OpenAi, host.Key));

        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.OpenAi, second));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.Anthropic, second));
        Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(host, Target.Gemini, second));
    }

    [Fact]
    public async Task PerAccountLimit_SharedByTheAccountsKeys_OtherAccountsUnaffected()
    {
        var host = await HardeningHost.StartAsync(Limits(perKey: 0, perAccount: 3, concurrent: 0));
        await using var cleanup = new Disposer(host);
        var second = await host.CreateKeyAsync();
        var (_, otherAccountKey, _) = await host.Gateway.CreateAccountWithKeyAsync("other", credits: 10);

        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.OpenAi, host.Key));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.OpenAi, host.Key));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.Anthropic, second));
        Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(host, Target.Anthropic, second));
        Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(host, Target.OpenAi, host.Key));

        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.OpenAi, otherAccountKey));
    }

    [Fact]
    public async Task ConcurrencyCap_SlowUpstream_RefusesCallsBeyondTheCapAndFreesSlotsWhenCallsEnd()
    {
        var host = await HardeningHost.StartAsync(Limits(perKey: 0, perAccount: 0, concurrent: 2));
        await using var cleanup = new Disposer(host);
        await host.Upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200,
            ["body"] = Samples.OpenAiChatJson,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            // Long enough that both slow calls still hold their slots (and holds) through the checks below on a busy machine.
            ["fixedDelayMilliseconds"] = 6000,
        }, priority: 1);
        var second = await host.CreateKeyAsync();
        var slow = new[] { CallAsync(host, Target.OpenAi, host.Key), CallAsync(host, Target.OpenAi, second) };
        var clock = Stopwatch.StartNew();
        while ((await host.ReceivedCountAsync()) < 2 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        var before = await host.BalanceAsync();

        using var refused = await host.SendAsync(Target.Gemini, HardeningHost.GoodBody(Target.Gemini));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal("RESOURCE_EXHAUSTED", HardeningHost.ErrorTypeOf(Target.Gemini, await HardeningHost.JsonOf(refused)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2.5), "the refusal does not wait for a slot");
        Assert.Equal(2, await host.ReceivedCountAsync());
        Assert.Equal(before.Held, (await host.BalanceAsync()).Held);
        Assert.All(await Task.WhenAll(slow), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.Anthropic, host.Key));
    }

    [Fact]
    public async Task RateLimits_UserApiAndHealth_AreNotCounted()
    {
        var host = await HardeningHost.StartAsync(Limits(perKey: 1, perAccount: 1, concurrent: 1));
        await using var cleanup = new Disposer(host);
        for (var i = 0; i < 5; i++) await host.BalanceAsync();

        Assert.Equal(HttpStatusCode.OK, await CallAsync(host, Target.OpenAi, host.Key));
        Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(host, Target.OpenAi, host.Key));
    }

    /// <summary>Disposes a started host at the end of a test.</summary>
    private sealed class Disposer(HardeningHost host) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(host.DisposeAsync());
    }
}

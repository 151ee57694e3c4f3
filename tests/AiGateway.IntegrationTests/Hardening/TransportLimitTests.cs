using System.Net;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>Oversized bodies and headers, and request targets that try to leave the provider route or its upstream base path.</summary>
public sealed class TransportLimitTests(HardeningHost host) : IClassFixture<HardeningHost>
{
    private const long HundredMegabytes = 100L * 1024 * 1024;

    [Theory]
    [InlineData("/openai/v1/chat/completions", false)]
    [InlineData("/openai/v1/chat/completions", true)]
    [InlineData("/anthropic/v1/messages", true)]
    [InlineData("/v1/credits/estimate/openai/v1/chat/completions", false)]
    [InlineData("/v1/credits/estimate/openai/v1/chat/completions", true)]
    public async Task Post_100MegabyteBody_Returns413EarlyWithoutReadingIt(string path, bool chunked)
    {
        var received = await host.ReceivedCountAsync();
        var before = await host.BalanceAsync();
        var auth = path.StartsWith("/anthropic", StringComparison.Ordinal) ? $"x-api-key: {host.Key}" : $"Authorization: Bearer {host.Key}";

        var result = await RawHttp.StreamBodyAsync(host.Gateway.BaseAddress, path, [auth], HundredMegabytes, chunked);

        Assert.Equal(413, result.Status);
        Assert.Contains(path.StartsWith("/anthropic", StringComparison.Ordinal) ? "request_too_large" : "invalid_request_error", result.Body);
        // With a Content-Length the refusal comes before any body byte is read; chunked, at the 16 MiB limit. Either way
        // the gateway stops long before 100 MB (socket buffers let some more go out before the close is seen).
        Assert.True(result.BodyBytesSent < (chunked ? 48L : 24L) * 1024 * 1024, $"sent {result.BodyBytesSent} bytes before the refusal");
        Assert.Equal(received, await host.ReceivedCountAsync());
        Assert.Equal(before, await host.BalanceAsync());
        using var good = await host.SendAsync(Target.OpenAi, HardeningHost.GoodBody(Target.OpenAi));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Theory]
    [InlineData("/openai/../admin/accounts")]
    [InlineData("/openai/%2e%2e/admin/accounts")]
    [InlineData("/openai/%2E%2E/%2E%2E/admin/accounts")]
    [InlineData("/openai/v1/../../admin/accounts")]
    [InlineData("/v1/credits/../../admin/accounts")]
    public async Task Post_DotSegmentsTowardsAdmin_NeverReachAdminUnauthenticated(string target)
    {
        var accounts = await host.Gateway.WithDbAsync(db => db.Accounts.CountAsync());
        var received = await host.ReceivedCountAsync();

        // The gateway key is not an admin key: whatever the target normalizes to, the admin API must refuse it.
        var result = await RawHttp.SendAsync(host.Gateway.BaseAddress, "POST", target,
            [$"Authorization: Bearer {host.Key}", "Content-Type: application/json"], """{"name":"evil"}"""u8.ToArray());

        Assert.True(result.Status is 400 or 401 or 404, $"{target} -> {result.Status}");
        Assert.Equal(accounts, await host.Gateway.WithDbAsync(db => db.Accounts.CountAsync()));
        Assert.Equal(received, await host.ReceivedCountAsync());
    }

    [Theory]
    [InlineData("/openai/..%2fadmin/accounts")]
    [InlineData("/openai/..%2Fadmin%2Faccounts")]
    [InlineData("/openai/v1/..%2f..%2f..%2fadmin")]
    [InlineData("/openai/v1%2fchat%2fcompletions")]
    [InlineData("/openai/v1/chat%2F..%2F..%2Fmodels")]
    [InlineData("/openai/v1//chat/completions")]
    [InlineData("/openai//v1/chat/completions")]
    [InlineData("/openai/v1/chat/completions%00")]
    [InlineData("/openai/v1/%252e%252e/%252e%252e/admin")]
    [InlineData("/openai/v1/..%5c..%5cadmin")]
    [InlineData("/openai/v1\\..\\..\\admin")]
    [InlineData("/gemini/v1beta/models/..%2f..%2fadmin:generateContent")]
    [InlineData("/anthropic/v1/messages%2f..%2f..%2fx")]
    public async Task Post_EncodedSlashesOrEmptySegmentsOnProviderRoute_Returns400AndForwardsNothing(string target)
    {
        var received = await host.ReceivedCountAsync();
        var before = await host.BalanceAsync();
        string[] headers = [$"Authorization: Bearer {host.Key}", $"x-api-key: {host.Key}", $"x-goog-api-key: {host.Key}", "Content-Type: application/json"];

        var result = await RawHttp.SendAsync(host.Gateway.BaseAddress, "POST", target, headers,
            System.Text.Encoding.UTF8.GetBytes(HardeningHost.GoodBody(target.StartsWith("/gemini", StringComparison.Ordinal) ? Target.Gemini : Target.OpenAi)));

        // Kestrel itself refuses some targets (400 before routing); the rest must be refused by the gateway, in the provider's shape.
        Assert.Equal(400, result.Status);
        Assert.Equal(received, await host.ReceivedCountAsync());
        Assert.Equal(before, await host.BalanceAsync());
    }

    [Fact]
    public async Task Post_NormalPathWithEncodedColon_IsStillForwarded()
    {
        // Gemini SDKs may send ':' as %3A; the path guard must not refuse it.
        var received = await host.ReceivedCountAsync();

        var result = await RawHttp.SendAsync(host.Gateway.BaseAddress, "POST", "/gemini/v1beta/models/gemini-2.5-flash%3AgenerateContent",
            [$"x-goog-api-key: {host.Key}", "Content-Type: application/json"], System.Text.Encoding.UTF8.GetBytes(HardeningHost.GoodBody(Target.Gemini)));

        Assert.Equal(200, result.Status);
        Assert.Equal(received + 1, await host.ReceivedCountAsync());
    }

    [Theory]
    [InlineData(Target.OpenAi)]
    [InlineData(Target.Anthropic)]
    [InlineData(Target.Estimate)]
    public async Task Post_HeadersLargerThanLimit_Returns431AndForwardsNothing(Target target)
    {
        var received = await host.ReceivedCountAsync();
        using var request = host.Request(target, System.Text.Encoding.UTF8.GetBytes(HardeningHost.GoodBody(target)));
        request.Headers.Add("X-Padding", new string('a', 40 * 1024));

        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal(received, await host.ReceivedCountAsync());
        using var good = await host.SendAsync(target, HardeningHost.GoodBody(target));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task Post_ManyHeaders_Returns431()
    {
        using var request = host.Request(Target.OpenAi, System.Text.Encoding.UTF8.GetBytes(HardeningHost.GoodBody(Target.OpenAi)));
        for (var i = 0; i < 200; i++) request.Headers.Add($"X-H{i}", "v");

        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }
}

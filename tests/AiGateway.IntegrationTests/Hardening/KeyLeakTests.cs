using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>
/// Keys leak neither way: a gateway key in the query never reaches the provider, a provider's 401/403 (which quotes a
/// masked part of the operator's key) never reaches the client, and only an allowlist of upstream headers does.
/// </summary>
public sealed class KeyLeakTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private GatewayClient _client = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        _client = new GatewayClient(_gateway, key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
    }

    [Theory]
    [InlineData("/openai", "/v1/chat/completions", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/anthropic", "/v1/messages", """{"model":"claude-sonnet-4","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    public async Task GatewayKeyInQuery_StrippedBeforeTheProvider_OtherParametersKept(string route, string path, string body)
    {
        await _upstream.StubJsonAsync("POST", path, 200, route == "/openai" ? Samples.OpenAiChatJson : Samples.AnthropicMessageJson);
        var request = new HttpRequestMessage(HttpMethod.Post, $"{route}{path}?key={_client.Key}&api_key={_client.Key}&api-version=2024-10-21")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", _client.Key);

        using var response = await _client.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.DoesNotContain("agw_", received.Url);
        Assert.DoesNotContain("agw_", string.Join("\n", received.Headers.Select(h => h.Key + ": " + h.Value)));
        Assert.Contains("api-version=2024-10-21", received.Url);
    }

    [Theory]
    [InlineData(401, "/openai", "/v1/chat/completions", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData(403, "/openai", "/v1/chat/completions", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData(401, "/anthropic", "/v1/messages", """{"model":"claude-sonnet-4","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    public async Task UpstreamRefusesProviderKey_GatewayErrorWithoutTheProvidersBody_NothingCharged(int status, string route, string path, string body)
    {
        await _upstream.StubJsonAsync("POST", path, status,
            """{"error":{"message":"Incorrect API key provided: sk-provi***************test. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");

        using var response = await _client.PostJsonAsync(route + path, body);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("sk-provi", text);
        Assert.DoesNotContain("Incorrect API key", text);
        var json = JsonNode.Parse(text)!.AsObject();
        Assert.Contains("refused the gateway's credentials", json["error"]!["message"]!.GetValue<string>());
        if (route == "/anthropic") Assert.Equal("error", json["type"]!.GetValue<string>());
        else Assert.Equal("server_error", json["error"]!["type"]!.GetValue<string>());
        Assert.Single(response.Headers.GetValues("X-Request-Id"));
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        var balance = await _client.BalanceAsync();
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.Equal(10m, balance["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task UpstreamRefusesProviderKey_OnUnmeteredRoute_GatewayError()
    {
        await _upstream.StubJsonAsync("GET", "/v1/models", 401, """{"error":{"message":"Incorrect API key provided: sk-provi****test"}}""");

        using var response = await _client.Http.GetAsync("/openai/v1/models");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("sk-provi", text);
        Assert.Contains("refused the gateway's credentials", JsonNode.Parse(text)!["error"]!["message"]!.GetValue<string>());
    }

    public static TheoryData<string, string?> Calls() => new()
    {
        { "/openai/v1/chat/completions", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""" },
        { "/openai/v1/models", null },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task UpstreamHeaders_OnlyTheAllowlistReachesClients(string path, string? body)
    {
        var leaky = new JsonObject
        {
            ["headers"] = new JsonObject
            {
                ["Content-Type"] = "application/json",
                ["openai-organization"] = "org-operator-secret",
                ["openai-project"] = "proj_operator",
                ["x-ratelimit-limit-requests"] = "10000",
                ["x-ratelimit-remaining-tokens"] = "29999",
                ["anthropic-organization-id"] = "org-anthropic-operator",
                ["Set-Cookie"] = "__cf_bm=operator; path=/",
                ["x-request-id"] = "req_upstream_1",
                ["x-should-retry"] = "false",
            },
        };
        if (body is null) await _upstream.StubAsync("GET", "/v1/models", Merge(leaky, 200, """{"object":"list","data":[]}"""));
        else await _upstream.StubAsync("POST", "/v1/chat/completions", Merge(leaky, 200, Samples.OpenAiChatJson));

        using var response = body is null ? await _client.Http.GetAsync(path) : await _client.PostJsonAsync(path, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var names = response.Headers.Select(h => h.Key).Concat(response.Content.Headers.Select(h => h.Key)).ToList();
        foreach (var leaked in new[] { "Matched-Stub-Id", "openai-organization", "openai-project", "x-ratelimit-limit-requests",
                     "x-ratelimit-remaining-tokens", "anthropic-organization-id", "Set-Cookie" })
        {
            Assert.DoesNotContain(leaked, names, StringComparer.OrdinalIgnoreCase);
        }
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        Assert.NotEqual("req_upstream_1", response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task UpstreamRateLimit_RetryAfterReachesTheClient()
    {
        await _upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 429,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json", ["Retry-After"] = "30", ["x-ratelimit-reset-requests"] = "30s" },
            ["body"] = """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""",
        });

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions", """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), response.Headers.RetryAfter?.Delta);
        Assert.False(response.Headers.Contains("x-ratelimit-reset-requests"));
    }

    private static JsonObject Merge(JsonObject extra, int status, string body)
    {
        var response = (JsonObject)extra.DeepClone();
        response["status"] = status;
        response["body"] = body;
        return response;
    }
}

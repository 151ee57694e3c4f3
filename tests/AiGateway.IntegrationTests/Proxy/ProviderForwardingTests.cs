using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace AiGateway.IntegrationTests.Proxy;

/// <summary>Calls through the real gateway to real WireMock in each provider's wire format.</summary>
public sealed class ProviderForwardingTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        (_, _key, _) = await _gateway.CreateAccountWithKeyAsync();
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private ChatClient OpenAiChat(string? key = null) => new("gpt-4o", new ApiKeyCredential(key ?? _key),
        new OpenAIClientOptions { Endpoint = new Uri(_gateway.BaseAddress, "/openai/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task OpenAiSdk_ChatCompletion_ReachesUpstreamWithProviderKeyNotGatewayKey()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);

        ChatCompletion completion = await OpenAiChat().CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from WireMock.", completion.Content[0].Text);
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Equal(_upstream.Prefix + "/v1/chat/completions", received.Url);
        Assert.Equal("Bearer " + GatewayFactory.ProviderKeys["OPENAI_API_KEY"], received.Headers["Authorization"]);
        Assert.DoesNotContain(_key, string.Join("\n", received.Headers.Values));
        Assert.Contains("Say hello", received.Body);
    }

    [Fact]
    public async Task OpenAiSdk_StreamingChat_DeliversEveryUpdate()
    {
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("Hel", "lo", "!"));

        var text = new StringBuilder();
        await foreach (var update in OpenAiChat().CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
        }

        Assert.Equal("Hello!", text.ToString());
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Equal("Bearer " + GatewayFactory.ProviderKeys["OPENAI_API_KEY"], received.Headers["Authorization"]);
    }

    [Fact]
    public async Task OpenAiSdk_UnknownKey_RaisesSdkAuthenticationError()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAiChat("agw_" + new string('x', 40)).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(401, error.Status);
        Assert.Contains("invalid_api_key", error.Message);
        Assert.Empty(await _upstream.ReceivedAsync());
    }

    [Fact]
    public async Task Anthropic_MessagesWithXApiKey_ForwardsWithProviderKey()
    {
        await _upstream.StubJsonAsync("POST", "/v1/messages", 200, Samples.AnthropicMessageJson);
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/anthropic/v1/messages")
        {
            Content = JsonContent.Create(new { model = "claude-sonnet-4-20250514", max_tokens = 64, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        request.Headers.Add("x-api-key", _key);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("msg_01XFDUDYJgAACzvnptvVoYEL", await response.Content.ReadAsStringAsync());
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Equal(GatewayFactory.ProviderKeys["ANTHROPIC_API_KEY"], received.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", received.Headers["anthropic-version"]);
    }

    [Fact]
    public async Task Anthropic_StreamingMessages_PassesEventsThrough()
    {
        await _upstream.StubSseAsync("POST", "/v1/messages", Samples.AnthropicMessageSse);
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/anthropic/v1/messages")
        {
            Content = JsonContent.Create(new { model = "claude-sonnet-4-20250514", max_tokens = 64, stream = true, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        request.Headers.Add("x-api-key", _key);

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("event: message_start", body);
        Assert.Contains("event: message_stop", body);
    }

    [Fact]
    public async Task Anthropic_MissingKey_Returns401InAnthropicShape()
    {
        using var client = _gateway.CreateClient();

        using var response = await client.PostAsync("/anthropic/v1/messages", JsonContent.Create(new { model = "claude-sonnet-4" }));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("error", json!["type"]!.GetValue<string>());
        Assert.Equal("authentication_error", json["error"]!["type"]!.GetValue<string>());
        Assert.Empty(await _upstream.ReceivedAsync());
    }

    [Fact]
    public async Task Gemini_KeyInQueryString_IsRemovedAndReplacedByHeader()
    {
        await _upstream.StubJsonAsync("POST", "/v1beta/models/gemini-2.5-flash:generateContent", 200, Samples.GeminiJson);
        using var client = _gateway.CreateClient();

        using var response = await client.PostAsync($"/gemini/v1beta/models/gemini-2.5-flash:generateContent?key={_key}",
            JsonContent.Create(new { contents = new[] { new { parts = new[] { new { text = "hi" } } } } }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.DoesNotContain("key=", received.Url);
        Assert.Equal(GatewayFactory.ProviderKeys["GEMINI_API_KEY"], received.Headers["x-goog-api-key"]);
    }

    [Fact]
    public async Task Gemini_StreamGenerateContentWithHeaderKey_StreamsSse()
    {
        await _upstream.StubSseAsync("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", Samples.GeminiSse);
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        {
            Content = JsonContent.Create(new { contents = new[] { new { parts = new[] { new { text = "hi" } } } } }),
        };
        request.Headers.Add("x-goog-api-key", _key);

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("usageMetadata", body);
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Contains("alt=sse", received.Url);
    }

    [Fact]
    public async Task Proxy_ClientCreditHeadersAndUpstreamCookies_AreStripped()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson,
            new JsonObject { ["headers"] = new JsonObject { ["Content-Type"] = "application/json", ["Set-Cookie"] = "session=upstream", ["X-Credits-Charged"] = "999" } });
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        request.Headers.Add("Authorization", "Bearer " + _key);
        request.Headers.Add("X-Credits-Remaining", "1000000");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.NotEqual("999", response.Headers.TryGetValues("X-Credits-Charged", out var v) ? v.Single() : null);
        Assert.True(response.Headers.Contains("X-Request-Id"));
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.False(received.Headers.ContainsKey("X-Credits-Remaining"));
    }

    [Fact]
    public async Task Streaming_DribbledUpstream_FirstEventArrivesBeforeLastIsSent()
    {
        // WireMock sends the body in 6 chunks spread over 3 s; a buffering proxy would deliver everything at the end.
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("a", "b", "c", "d"),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 6, ["totalDuration"] = 3000 } });
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o", stream = true, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        request.Headers.Add("Authorization", "Bearer " + _key);

        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[16];
        var first = await stream.ReadAsync(buffer);
        var firstAt = clock.Elapsed;
        while (await stream.ReadAsync(new byte[4096]) > 0)
        {
        }
        var lastAt = clock.Elapsed;

        Assert.True(first > 0);
        Assert.True(lastAt - firstAt > TimeSpan.FromSeconds(1.5),
            $"first byte at {firstAt.TotalMilliseconds} ms, end at {lastAt.TotalMilliseconds} ms: the stream was buffered");
    }

    [Fact]
    public async Task Configuration_NewOpenAiCompatibleProvider_NeedsOnlySettings()
    {
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:kimi:ClusterId"] = "kimi",
            ["ReverseProxy:Routes:kimi:Match:Path"] = "/kimi/{**rest}",
            ["ReverseProxy:Routes:kimi:Transforms:0:PathRemovePrefix"] = "/kimi",
            ["ReverseProxy:Routes:kimi:Metadata:Format"] = "OpenAi",
            ["ReverseProxy:Clusters:kimi:Destinations:primary:Address"] = _upstream.UpstreamAddress + "kimi/",
            ["ReverseProxy:Clusters:kimi:Metadata:ApiKeyVariable"] = "KIMI_API_KEY",
            ["KIMI_API_KEY"] = "sk-kimi-provider",
        });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync();
        await _upstream.StubJsonAsync("POST", "/kimi/v1/chat/completions", 200, Samples.OpenAiChatJson);
        var chat = new ChatClient("gpt-4o", new ApiKeyCredential(key),
            new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseAddress, "/kimi/v1") });

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Hello from WireMock.", completion.Content[0].Text);
        var received = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Equal("Bearer sk-kimi-provider", received.Headers["Authorization"]);
    }
}

using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>
/// The metered call end to end: real host, real WireMock upstream, official OpenAI SDK for OpenAI routes.
/// Expected charges are computed by hand from config/prices.json (1 credit = 1,000,000 micro-credits):
/// gpt-4o 250/125/1000 credits per 1M input/cached/output tokens = 250/125/1000 micro-credits per token;
/// claude-sonnet-4 300/30 (cache read)/375 (cache write)/1500; gemini-2.5-flash 30/3/250.
/// </summary>
public sealed class MeteringTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private GatewayClient _client = null!;
    private Guid _account;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        (_account, var key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        _client = new GatewayClient(_gateway, key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
    }

    private ChatClient OpenAiChat(string model = "gpt-4o") => new(model, new ApiKeyCredential(_client.Key),
        new OpenAIClientOptions { Endpoint = new Uri(_gateway.BaseAddress, "/openai/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    private static string RequestIdOf(ClientResult result) => result.GetRawResponse().Headers.TryGetValue("X-Request-Id", out var id) ? id! : "";

    [Fact]
    public async Task OpenAiSdk_JsonWithCachedAndReasoningUsage_ChargesExactlyAndSetsHeaders()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Fixtures.Read("openai/chat-completion.json"));

        var result = await OpenAiChat().CompleteChatAsync([new UserChatMessage("Explain caching")]);

        // 2006 prompt (1920 cached) + 300 completion (192 reasoning, priced as output for gpt-4o):
        // 86 × 250 + 1920 × 125 + 300 × 1000 = 21,500 + 240,000 + 300,000 = 561,500 micro = 0.5615 credits.
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("X-Credits-Charged", out var charged));
        Assert.Equal(0.5615m, decimal.Parse(charged!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(headers.TryGetValue("X-Credits-Estimate", out var estimate));
        Assert.True(decimal.Parse(estimate!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(headers.TryGetValue("X-Credits-Remaining", out var remaining));
        Assert.Equal(10m - 0.5615m, decimal.Parse(remaining!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(10m - 0.5615m, await _client.AvailableAsync());

        var record = await _client.CallAsync(RequestIdOf(result));
        Assert.Equal("gpt-4o", record["model"]!.GetValue<string>());
        Assert.Equal(2006, record["inputTokens"]!.GetValue<long>());
        Assert.Equal(1920, record["cachedInputTokens"]!.GetValue<long>());
        Assert.Equal(300, record["outputTokens"]!.GetValue<long>());
        Assert.Equal(192, record["reasoningTokens"]!.GetValue<long>());
        Assert.Equal(0.5615m, record["credits"]!.GetValue<decimal>());
        Assert.Equal("provider", record["usageSource"]!.GetValue<string>());
        Assert.Equal(200, record["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task OpenAiSdk_Streaming_ChargesFromFinalUsageChunk()
    {
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("Hel", "lo", "!"));

        var text = new StringBuilder();
        await foreach (var update in OpenAiChat().CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
        }

        Assert.Equal("Hello!", text.ToString());
        // 19 × 250 + 3 × 1000 = 7,750 micro.
        Assert.Equal(10m - 0.00775m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task RawStream_ClientDidNotAskForUsage_GatewayAsksAndHidesTheUsageChunk()
    {
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("a", "b"));

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("\"usage\":{", body);
        Assert.Contains("data: [DONE]", body);
        Assert.True(response.Headers.Contains("X-Credits-Estimate"));
        Assert.False(response.Headers.Contains("X-Credits-Charged"));
        var sent = JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!;
        Assert.True(sent["stream_options"]!["include_usage"]!.GetValue<bool>());
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(0.00675m, record["credits"]!.GetValue<decimal>()); // 19 × 250 + 2 × 1000
    }

    [Fact]
    public async Task RawStream_ClientAskedForUsage_KeepsTheUsageChunk()
    {
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("a"));

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"usage\":{\"prompt_tokens\":19", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(500)]
    public async Task UpstreamError_IsPassedThroughAndCostsNothing(int status)
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", status,
            """{"error":{"message":"upstream says no","type":"invalid_request_error","param":null,"code":null}}""");
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?> { ["Metering:MaxAttempts"] = "1" });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains("upstream says no", await response.Content.ReadAsStringAsync());
        Assert.Equal("0", response.Headers.GetValues("X-Credits-Charged").Single());
        Assert.Equal(10m, await client.AvailableAsync());
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(0m, record["credits"]!.GetValue<decimal>());
        Assert.Equal(status, record["status"]!.GetValue<int>());
        Assert.Equal(0m, (await client.BalanceAsync())["held"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task InsufficientCredits_SdkRaises402InsufficientQuota_NothingForwarded()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        var (_, poorKey, _) = await _gateway.CreateAccountWithKeyAsync("poor", credits: 0);
        var chat = new ChatClient("gpt-4o", new ApiKeyCredential(poorKey),
            new OpenAIClientOptions { Endpoint = new Uri(_gateway.BaseAddress, "/openai/v1") });

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(402, error.Status);
        Assert.Contains("insufficient_quota", error.Message);
        Assert.Empty(await _upstream.ReceivedAsync());
        using var poor = new GatewayClient(_gateway, poorKey);
        var usage = (await poor.Http.GetFromJsonAsync<JsonObject>("/v1/credits/usage"))!["items"]!.AsArray();
        var refused = Assert.Single(usage)!;
        Assert.Equal(402, refused["status"]!.GetValue<int>());
        Assert.Equal(0m, refused["credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task UnknownModel_Returns404ModelNotFound_NothingForwarded()
    {
        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions", """{"model":"no-such-model","messages":[]}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("model_not_found", json!["error"]!["code"]!.GetValue<string>());
        Assert.Empty(await _upstream.ReceivedAsync());
    }

    [Theory]
    [InlineData("{\"model\":\"gpt-4o\",")]
    [InlineData("not json")]
    [InlineData("{\"model\":5,\"messages\":[]}")]
    [InlineData("{\"messages\":[]}")]
    public async Task BadBody_Returns400InOpenAiShape_NothingForwardedOrCharged(string body)
    {
        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("invalid_request_error", json!["error"]!["type"]!.GetValue<string>());
        Assert.Empty(await _upstream.ReceivedAsync());
        Assert.Equal(10m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task Anthropic_JsonWithCache_ChargesInputCacheReadsWritesAndOutput()
    {
        await _upstream.StubJsonAsync("POST", "/v1/messages", 200, Fixtures.Read("anthropic/messages.json"));
        var usage = JsonNode.Parse(Fixtures.Read("anthropic/messages.json"))!["usage"]!;
        long input = usage["input_tokens"]!.GetValue<long>(), reads = usage["cache_read_input_tokens"]!.GetValue<long>(),
            writes = usage["cache_creation_input_tokens"]!.GetValue<long>(), output = usage["output_tokens"]!.GetValue<long>();

        using var response = await _client.PostJsonAsync("/anthropic/v1/messages",
            """{"model":"claude-sonnet-4-20250514","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expectedMicro = input * 300 + reads * 30 + writes * 375 + output * 1500;
        Assert.Equal(expectedMicro / 1_000_000m, decimal.Parse(response.Headers.GetValues("X-Credits-Charged").Single(), System.Globalization.CultureInfo.InvariantCulture));
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(input + reads + writes, record["inputTokens"]!.GetValue<long>());
        Assert.Equal(reads, record["cachedInputTokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task Anthropic_Stream_ChargesMessageStartInputPlusMessageDeltaOutput()
    {
        await _upstream.StubSseAsync("POST", "/v1/messages", Samples.AnthropicMessageSse);

        using var response = await _client.PostJsonAsync("/anthropic/v1/messages",
            """{"model":"claude-sonnet-4-20250514","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("message_stop", body);
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(25, record["inputTokens"]!.GetValue<long>());
        Assert.Equal(15, record["outputTokens"]!.GetValue<long>());
        Assert.Equal(0.03m, record["credits"]!.GetValue<decimal>()); // 25 × 300 + 15 × 1500 micro
        Assert.Equal(10m - 0.03m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task Gemini_JsonAndStream_ChargeFromUsageMetadata()
    {
        await _upstream.StubJsonAsync("POST", "/v1beta/models/gemini-2.5-flash:generateContent", 200, Samples.GeminiJson);
        await _upstream.StubSseAsync("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", Samples.GeminiSse);
        var body = """{"contents":[{"parts":[{"text":"hi"}]}]}""";

        using var json = await _client.PostJsonAsync("/gemini/v1beta/models/gemini-2.5-flash:generateContent", body);
        using var sse = await _client.PostJsonAsync("/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body);
        await sse.Content.ReadAsStringAsync();

        // JSON: 8 × 30 + 5 × 250 = 1,490 micro; stream (last usageMetadata): 8 × 30 + 3 × 250 = 990 micro.
        Assert.Equal("0.00149", json.Headers.GetValues("X-Credits-Charged").Single());
        var record = await _client.CallAsync(sse.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(0.00099m, record["credits"]!.GetValue<decimal>());
        Assert.Equal(10m - 0.00149m - 0.00099m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task Failover_PrimaryAnswers503_SecondaryServesAndIsChargedOnce()
    {
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:openai:Destinations:primary:Address"] = _upstream.UpstreamAddress + "a/",
            ["ReverseProxy:Clusters:openai:Destinations:secondary:Address"] = _upstream.UpstreamAddress + "b/",
        });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(gateway, key);
        await _upstream.StubJsonAsync("POST", "/a/v1/chat/completions", 503, """{"error":{"message":"overloaded"}}""");
        await _upstream.StubJsonAsync("POST", "/b/v1/chat/completions", 200, Samples.OpenAiChatJson);
        var chat = new ChatClient("gpt-4o", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseAddress, "/openai/v1") });

        var result = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Hello from WireMock.", result.Value.Content[0].Text);
        var record = await client.CallAsync(RequestIdOf(result));
        Assert.Equal(2, record["attempts"]!.GetValue<int>());
        Assert.Equal(0.01475m, record["credits"]!.GetValue<decimal>()); // 19 × 250 + 10 × 1000, once
        Assert.Equal(10m - 0.01475m, await client.AvailableAsync());
        Assert.Equal(2, (await _upstream.ReceivedAsync()).Count);
    }

    [Fact]
    public async Task RateLimited429WithRetryAfter_IsRetriedAfterTheDelay()
    {
        // WireMock scenario: the first call is rate limited with Retry-After: 1, the second succeeds.
        var wm = await SharedWireMock.GetAsync();
        var scenario = "s" + Guid.NewGuid().ToString("N");
        await wm.StubAsync(new JsonObject
        {
            ["scenarioName"] = scenario, ["requiredScenarioState"] = "Started", ["newScenarioState"] = "served", ["priority"] = 0,
            ["request"] = new JsonObject { ["method"] = "POST", ["urlPath"] = _upstream.Prefix + "/r/v1/chat/completions" },
            ["response"] = new JsonObject { ["status"] = 429, ["body"] = "{}", ["headers"] = new JsonObject { ["Retry-After"] = "1" } },
        });
        await wm.StubAsync(new JsonObject
        {
            ["scenarioName"] = scenario, ["requiredScenarioState"] = "served", ["priority"] = 0,
            ["request"] = new JsonObject { ["method"] = "POST", ["urlPath"] = _upstream.Prefix + "/r/v1/chat/completions" },
            ["response"] = new JsonObject { ["status"] = 200, ["body"] = Samples.OpenAiChatJson, ["headers"] = new JsonObject { ["Content-Type"] = "application/json" } },
        });
        await using var retrying = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:openai:Destinations:primary:Address"] = _upstream.UpstreamAddress + "r/",
        });
        var (_, key, _) = await retrying.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(retrying, key);

        var started = DateTime.UtcNow;
        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "the Retry-After delay was not honoured");
        var received = (await _upstream.ReceivedAsync()).Where(r => r.Url.Contains("/r/")).ToList();
        Assert.Equal(2, received.Count);
        Assert.Equal(0.01475m, (await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single()))["credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task ClientDisconnectsMidStream_WithoutDrain_ChargesDeliveredOutputAsPartial()
    {
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("one", " two", " three", " four", " five", " six"),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 10, ["totalDuration"] = 4000 } });
        // With the drain switched off the gateway stops reading when the client leaves (DisconnectDrainTests cover the drain).
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?> { ["Metering:DrainAfterDisconnect"] = "00:00:00" });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(gateway, key);

        string requestId;
        using (var cts = new CancellationTokenSource())
        {
            using var response = await client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"count"}]}""", Encoding.UTF8, "application/json"),
            }, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            requestId = response.Headers.GetValues("X-Request-Id").Single();
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            var buffer = new byte[64];
            Assert.True(await stream.ReadAsync(buffer, cts.Token) > 0);
            cts.Cancel();
        }

        var record = await client.CallAsync(requestId);
        Assert.Equal("partial", record["usageSource"]!.GetValue<string>());
        Assert.True(record["credits"]!.GetValue<decimal>() > 0);
        Assert.True(record["inputTokens"]!.GetValue<long>() > 0);
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.Equal(10m - record["credits"]!.GetValue<decimal>(), balance["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task EstimateEndpoint_ChatWithNameAndTools_MatchesCountedPromptTokens_NothingForwarded()
    {
        // Exact counts (names, tools) are proven against the cookbook in the tokenizer's tests; here: the endpoint's wiring,
        // the price arithmetic and that nothing is forwarded or held.
        using var response = await _client.PostJsonAsync("/v1/credits/estimate/openai/v1/chat/completions",
            """{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","name":"example_user","content":"New synergies will help drive top-line growth."}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(100, json["outputTokens"]!.GetValue<long>());
        Assert.True(json["inputTokens"]!.GetValue<long>() > 20);
        Assert.Equal((json["inputTokens"]!.GetValue<long>() * 250 + 100 * 1000) / 1_000_000m, json["credits"]!.GetValue<decimal>());
        Assert.Empty(await _upstream.ReceivedAsync());
        Assert.Equal(0m, (await _client.BalanceAsync())["held"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task FixedPriceAction_ChargedOncePerIdempotencyKey()
    {
        async Task<HttpResponseMessage> Draft(string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/credits/actions/draft");
            request.Headers.Add("Idempotency-Key", key);
            return await _client.Http.SendAsync(request);
        }

        using var first = await Draft("draft-1");
        using var repeat = await Draft("draft-1");
        using var second = await Draft("draft-2");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True((await repeat.Content.ReadFromJsonAsync<JsonObject>())!["repeated"]!.GetValue<bool>());
        Assert.Equal(10m - 4m, await _client.AvailableAsync()); // draft = 2 credits, twice
    }
}

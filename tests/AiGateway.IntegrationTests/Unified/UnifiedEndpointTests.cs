using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace AiGateway.IntegrationTests.Unified;

/// <summary>
/// The unified OpenAI-compatible endpoint end to end: the official OpenAI .NET SDK pointed at <c>/v1</c> calls Claude
/// and Gemini models; WireMock answers in the providers' native formats (JSON and SSE, with tool calls). Charges are
/// computed by hand from config/prices.json (credits per 1M tokens = micro-credits per token):
/// claude-sonnet-4-5 input 300 / cache read 30 / cache write 375 / output 1500; gemini-2.5-flash input 30 / cached 3 /
/// output (and thinking) 250; gpt-4o 250 / 125 / 1000.
/// </summary>
public sealed class UnifiedEndpointTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private GatewayClient _client = null!;
    private Guid _account;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        // Enough for a hold of Claude's whole 64,000-token output (96 credits) on a plan that does not clamp.
        (_account, var key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 200);
        _client = new GatewayClient(_gateway, key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
    }

    private ChatClient Chat(string model, string? key = null) => new(model, new ApiKeyCredential(key ?? _client.Key),
        new OpenAIClientOptions { Endpoint = new Uri(_gateway.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    private static ChatTool Weather => ChatTool.CreateFunctionTool("get_weather", "Current weather",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}"""));

    /// <summary>A conversation that already made two parallel calls and got their results.</summary>
    private static List<ChatMessage> ConversationWithToolResults() =>
    [
        new SystemChatMessage("Be brief."),
        new UserChatMessage("Weather in Paris and Rome?"),
        new AssistantChatMessage([
            ChatToolCall.CreateFunctionToolCall("call_p", "get_weather", BinaryData.FromString("""{"city":"Paris"}""")),
            ChatToolCall.CreateFunctionToolCall("call_r", "get_weather", BinaryData.FromString("""{"city":"Rome"}""")),
        ]),
        new ToolChatMessage("call_p", "18C"),
        new ToolChatMessage("call_r", "21C"),
        new UserChatMessage("And Zürich?"),
    ];

    private static decimal Header(ClientResult result, string name) =>
        result.GetRawResponse().Headers.TryGetValue(name, out var value) ? decimal.Parse(value!, CultureInfo.InvariantCulture) : throw new Xunit.Sdk.XunitException($"no {name}");

    private static string RequestIdOf(ClientResult result) => result.GetRawResponse().Headers.TryGetValue("X-Request-Id", out var id) ? id! : "";

    [Fact]
    public async Task OpenAiSdk_ClaudeAliasWithToolCalls_TranslatedBothWaysAndChargedFromNativeUsage()
    {
        await _upstream.StubJsonAsync("POST", "/v1/messages", 200, Fixtures.Read("anthropic/messages-tool-use.json"));

        var result = await Chat("anthropic/claude-sonnet-4.5").CompleteChatAsync(ConversationWithToolResults(), new ChatCompletionOptions { Tools = { Weather } });

        var completion = result.Value;
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal("I'll check both cities.", Assert.Single(completion.Content).Text);
        Assert.Equal(["toolu_01A09q90qw90lq917835lq9", "toolu_01B7x2kq81mz3kq8d1p4lz2"], completion.ToolCalls.Select(c => c.Id));
        Assert.All(completion.ToolCalls, c => Assert.Equal("get_weather", c.FunctionName));
        Assert.Equal("""{"city":"Zürich"}""", completion.ToolCalls[1].FunctionArguments.ToString());
        // Anthropic's input_tokens (312) excludes cache reads (1000) and writes (50): OpenAI's prompt_tokens is the total.
        Assert.Equal(1362, completion.Usage.InputTokenCount);
        Assert.Equal(1000, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(97, completion.Usage.OutputTokenCount);

        // 312 × 300 + 1000 × 30 + 50 × 375 + 97 × 1500 = 93,600 + 30,000 + 18,750 + 145,500 = 287,850 micro.
        Assert.Equal(0.28785m, Header(result, "X-Credits-Charged"));
        Assert.Equal(200m - 0.28785m, Header(result, "X-Credits-Remaining"));
        Assert.Equal(200m - 0.28785m, await _client.AvailableAsync());
        var record = await _client.CallAsync(RequestIdOf(result));
        Assert.Equal("anthropic", record["provider"]!.GetValue<string>());
        Assert.Equal("claude-sonnet-4-5", record["pricedModel"]!.GetValue<string>());
        Assert.Equal(1362, record["inputTokens"]!.GetValue<long>());
        Assert.Equal(1000, record["cachedInputTokens"]!.GetValue<long>());
        Assert.Equal(50, record["cacheWriteInputTokens"]!.GetValue<long>());
        Assert.Equal("provider", record["usageSource"]!.GetValue<string>());

        var sent = Assert.Single(await _upstream.ReceivedAsync());
        Assert.EndsWith("/v1/messages", sent.Url);
        Assert.Equal(GatewayFactory.ProviderKeys["ANTHROPIC_API_KEY"], sent.Headers["x-api-key"]);
        Assert.DoesNotContain(sent.Headers, h => h.Value.Contains(_client.Key, StringComparison.Ordinal));
        var body = JsonNode.Parse(sent.Body)!;
        Assert.Equal("claude-sonnet-4-5", (string?)body["model"]);
        // No limit from the client: the hold covers the model's 64,000 output tokens, and that is what Anthropic is told.
        Assert.Equal(64000, (int?)body["max_tokens"]);
        Assert.Equal("Be brief.", (string?)body["system"]![0]!["text"]);
        var results = body["messages"]![2]!["content"]!.AsArray();
        Assert.Equal(["call_p", "call_r"], results.Where(b => (string?)b!["type"] == "tool_result").Select(b => (string?)b!["tool_use_id"]));
        Assert.Equal("get_weather", (string?)body["tools"]![0]!["name"]);
    }

    [Fact]
    public async Task OpenAiSdk_ClaudeWithoutLimitOnSmallBalance_AnthropicIsToldTheLimitTheHoldAffords()
    {
        await _upstream.StubJsonAsync("POST", "/v1/messages", 200, Fixtures.Read("anthropic/messages.json"));
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync("small", credits: 10);

        var result = await Chat("claude-sonnet-4-5", key).CompleteChatAsync([new UserChatMessage("hi")]);

        // 64,000 output tokens would need a 96-credit hold; 10 credits afford at most 10,000,000 / 1500 = 6,666 of them
        // (a few less for the input), so that is the limit held and written into the request, as for a native call without one.
        var maxTokens = (int?)JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!["max_tokens"];
        Assert.NotNull(maxTokens);
        Assert.InRange(maxTokens.Value, 6600, 6666);
        Assert.Equal("stop", result.Value.FinishReason.ToString().ToLowerInvariant());
    }

    [Fact]
    public async Task OpenAiSdk_ClaudeStreamWithToolCalls_GivesOpenAiChunksAndUsage()
    {
        await _upstream.StubSseAsync("POST", "/v1/messages", Fixtures.Read("anthropic/messages-stream-tool-use.sse"));

        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)>();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Chat("claude-sonnet-4-5").CompleteChatStreamingAsync(ConversationWithToolResults(), new ChatCompletionOptions { Tools = { Weather } }))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            foreach (var call in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(call.Index, out var entry)) calls[call.Index] = entry = (call.ToolCallId, call.FunctionName, new StringBuilder());
                entry.Arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        Assert.Equal("Checking ünits", text.ToString());
        Assert.Equal([("toolu_01Paris", "get_weather", """{"city": "Paris"}"""), ("toolu_02Rome", "get_time", """{"tz":"Europe/Rome"}""")],
            calls.Values.Select(c => (c.Id, c.Name, c.Arguments.ToString())));
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotNull(usage);
        Assert.Equal(1000, usage.InputTokenCount);
        Assert.Equal(600, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(58, usage.OutputTokenCount);
        // 400 × 300 + 600 × 30 + 58 × 1500 = 120,000 + 18,000 + 87,000 = 225,000 micro.
        Assert.Equal(200m - 0.225m, await _client.AvailableAsync());
        Assert.True(JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task OpenAiSdk_GeminiFunctionCalls_TranslatedWithReasoningTokensAndCharged()
    {
        await _upstream.StubJsonAsync("POST", "/v1beta/models/gemini-2.5-flash:generateContent", 200, Fixtures.Read("gemini/generate-content-function-call.json"));

        var result = await Chat("google/gemini-2.5-flash").CompleteChatAsync(ConversationWithToolResults(),
            new ChatCompletionOptions { Tools = { Weather }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), Temperature = 0.2f });

        var completion = result.Value;
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal("Looking both up.", Assert.Single(completion.Content).Text);
        Assert.Equal(["""{"city":"Paris","unit":"celsius"}""", """{"city":"Zürich"}"""], completion.ToolCalls.Select(c => c.FunctionArguments.ToString()));
        Assert.Equal(2, completion.ToolCalls.Select(c => c.Id).Distinct().Count());
        Assert.Equal(150, completion.Usage.InputTokenCount);
        Assert.Equal(100, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(140, completion.Usage.OutputTokenCount);
        Assert.Equal(100, completion.Usage.OutputTokenDetails.ReasoningTokenCount);
        // 50 × 30 + 100 × 3 + (40 + 100 thinking) × 250 = 1,500 + 300 + 35,000 = 36,800 micro.
        Assert.Equal(0.0368m, Header(result, "X-Credits-Charged"));
        Assert.Equal("gemini", (await _client.CallAsync(RequestIdOf(result)))["provider"]!.GetValue<string>());

        var sent = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Equal(GatewayFactory.ProviderKeys["GEMINI_API_KEY"], sent.Headers["x-goog-api-key"]);
        var body = JsonNode.Parse(sent.Body)!;
        Assert.Equal("ANY", (string?)body["toolConfig"]!["functionCallingConfig"]!["mode"]);
        // The results and the next user text form one user turn: two functionResponse parts named after their calls, then the text.
        Assert.Equal(["get_weather:18C", "get_weather:21C", "And Zürich?"], body["contents"]![2]!["parts"]!.AsArray()
            .Select(p => p!["functionResponse"] is { } r ? $"{(string?)r["name"]}:{(string?)r["response"]!["content"]}" : (string?)p["text"]));
        Assert.Equal("STRING", (string?)body["tools"]![0]!["functionDeclarations"]![0]!["parameters"]!["properties"]!["city"]!["type"]);
    }

    [Fact]
    public async Task OpenAiSdk_GeminiStream_UsesAltSseAndGivesToolCallChunks()
    {
        await _upstream.StubSseAsync("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", Fixtures.Read("gemini/stream-function-call.sse"));

        var names = new List<string>();
        ChatTokenUsage? usage = null;
        var text = new StringBuilder();
        await foreach (var update in Chat("gemini-2.5-flash").CompleteChatStreamingAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Tools = { Weather } }))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            names.AddRange(update.ToolCallUpdates.Where(c => c.FunctionName is not null).Select(c => c.FunctionName));
            usage = update.Usage ?? usage;
        }

        Assert.Equal("Sure — ", text.ToString());
        Assert.Equal(["get_weather", "get_time"], names);
        Assert.Equal(55, usage!.OutputTokenCount);
        Assert.Equal(30, usage.OutputTokenDetails.ReasoningTokenCount);
        // 60 × 30 + 20 × 3 + 55 × 250 = 1,800 + 60 + 13,750 = 15,610 micro.
        Assert.Equal(200m - 0.01561m, await _client.AvailableAsync());
        Assert.Contains("alt=sse", Assert.Single(await _upstream.ReceivedAsync()).Url);
    }

    [Fact]
    public async Task OpenAiSdk_UnsupportedParameter_Gets400NothingForwardedNothingHeld()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat("claude-sonnet-4-5").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { IncludeLogProbabilities = true }));

        Assert.Equal(400, error.Status);
        var body = JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!;
        Assert.Equal("logprobs", (string?)body["error"]!["param"]);
        Assert.Equal("invalid_request_error", (string?)body["error"]!["type"]);
        Assert.Empty(await _upstream.ReceivedAsync());
        Assert.Equal(200m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task UpstreamError_ReachesTheSdkInOpenAiShape_NotCharged()
    {
        await _upstream.StubJsonAsync("POST", "/v1/messages", 400,
            """{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}}""");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat("claude-sonnet-4-5").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(400, error.Status);
        var body = JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!;
        Assert.Equal("messages: roles must alternate", (string?)body["error"]!["message"]);
        Assert.Equal("invalid_request_error", (string?)body["error"]!["code"]);
        Assert.Equal(200m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task GatewayRefusal_IsInOpenAiShape()
    {
        var (_, poorKey, _) = await _gateway.CreateAccountWithKeyAsync("poor", credits: 0.001m);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat("claude-sonnet-4-5", poorKey).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(402, error.Status);
        Assert.Equal("insufficient_quota", (string?)JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!["error"]!["type"]);
        Assert.Empty(await _upstream.ReceivedAsync());
    }

    [Fact]
    public async Task OpenAiSdk_OpenAiAlias_ForwardedAsIsWithTheProvidersModelName()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Fixtures.Read("openai/chat-completion.json"));

        var result = await Chat("openai/gpt-4o").CompleteChatAsync([new UserChatMessage("Explain caching")]);

        // As on the native route: 86 × 250 + 1920 × 125 + 300 × 1000 = 561,500 micro.
        Assert.Equal(0.5615m, Header(result, "X-Credits-Charged"));
        var sent = Assert.Single(await _upstream.ReceivedAsync());
        Assert.Equal("gpt-4o", (string?)JsonNode.Parse(sent.Body)!["model"]);
        Assert.Equal("Bearer " + GatewayFactory.ProviderKeys["OPENAI_API_KEY"], sent.Headers["Authorization"]);
        Assert.Equal("openai", (await _client.CallAsync(RequestIdOf(result)))["provider"]!.GetValue<string>());
    }

    [Fact]
    public async Task Embeddings_OpenAiModelForwarded_ClaudeRefused()
    {
        await _upstream.StubJsonAsync("POST", "/v1/embeddings", 200, Fixtures.Read("openai/embeddings.json"));

        using var ok = await _client.PostJsonAsync("/v1/embeddings", """{"model":"text-embedding-3-small","input":"hello"}""");
        using var refused = await _client.PostJsonAsync("/v1/embeddings", """{"model":"claude-sonnet-4-5","input":"hello"}""");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True(ok.Headers.Contains("X-Credits-Charged"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("model", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["param"]);
        Assert.Single(await _upstream.ReceivedAsync());
    }

    [Fact]
    public async Task Models_ListsPricedTextModelsTheCallerMayUse_CreditsApiNotShadowed()
    {
        using var all = await _client.Http.GetAsync("/v1/models");
        var list = JsonNode.Parse(await all.Content.ReadAsStringAsync())!;
        Assert.Equal("list", (string?)list["object"]);
        var ids = list["data"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        Assert.Contains("claude-sonnet-4-5", ids);
        Assert.Contains("gemini-2.5-flash", ids);
        Assert.Contains("gpt-4o", ids);
        Assert.DoesNotContain("dall-e-3", ids); // images are not served here
        Assert.DoesNotContain("refly/kimi-k2", ids); // no route to its provider
        Assert.Equal("anthropic", (string?)list["data"]!.AsArray().First(m => (string?)m!["id"] == "claude-sonnet-4-5")!["owned_by"]);

        // An account whose only credits are scoped to Gemini models sees only those.
        var (scopedAccount, scopedKey, _) = await _gateway.CreateAccountWithKeyAsync("scoped", credits: 0);
        using (var admin = _gateway.CreateAdminClient())
            (await admin.PostAsJsonAsync($"/admin/accounts/{scopedAccount}/grants", new { kind = "bonus", credits = 5m, reason = "scoped", models = new[] { "gemini-*" } }))
                .EnsureSuccessStatusCode();
        using var scopedClient = new GatewayClient(_gateway, scopedKey);
        var scoped = JsonNode.Parse(await (await scopedClient.Http.GetAsync("/v1/models")).Content.ReadAsStringAsync())!;
        Assert.Equal(["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"], scoped["data"]!.AsArray().Select(m => (string)m!["id"]!).Order(StringComparer.Ordinal));

        using var balance = await _client.Http.GetAsync("/v1/credits");
        Assert.Equal(HttpStatusCode.OK, balance.StatusCode);
        using var anonymous = await new HttpClient { BaseAddress = _gateway.BaseAddress }.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}

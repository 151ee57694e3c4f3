using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>
/// A client that leaves a stream early does not take the provider's bill with it: the gateway keeps reading the upstream
/// (bounded by <c>Metering:DrainAfterDisconnect</c>) to its usage report and charges that, reasoning included.
/// </summary>
public sealed class DisconnectDrainTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Each provider's stream: 20 events, the usage (10,020 output tokens, 10,000 of them reasoning) only in the last ones.</summary>
    public static TheoryData<string, string, string, string> Streams() => new()
    {
        {
            "/v1/chat/completions", "/openai/v1/chat/completions",
            """{"model":"gpt-5","stream":true,"max_completion_tokens":12000,"messages":[{"role":"user","content":"think hard"}]}""",
            OpenAiStream()
        },
        {
            "/v1/messages", "/anthropic/v1/messages",
            """{"model":"claude-sonnet-4","stream":true,"max_tokens":12000,"messages":[{"role":"user","content":"think hard"}]}""",
            AnthropicStream()
        },
        {
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            """{"contents":[{"role":"user","parts":[{"text":"think hard"}]}],"generationConfig":{"maxOutputTokens":12000}}""",
            GeminiStream()
        },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task ClientLeavesBeforeUsage_UpstreamReadToItsUsage_ProviderUsageCharged(string upstreamPath, string gatewayPath, string body, string sse)
    {
        await _upstream.StubSseAsync("POST", upstreamPath, sse,
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 10, ["totalDuration"] = 3000 } });
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?> { ["Metering:DrainAfterDisconnect"] = "00:00:30" });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 100);
        using var client = new GatewayClient(gateway, key);

        var requestId = await ReadFirstBytesThenLeaveAsync(client, gatewayPath, body);

        var record = await WaitForRecordAsync(client, requestId);
        Assert.Equal("provider", record["usageSource"]!.GetValue<string>());
        Assert.Equal(10_020, record["outputTokens"]!.GetValue<long>());
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.Equal(100m - record["credits"]!.GetValue<decimal>(), balance["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task OpenAiStream_ClientLeaves_ChargesReasoningAtTheModelsOutputPrice()
    {
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", OpenAiStream(),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 10, ["totalDuration"] = 3000 } });
        await using var gateway = new GatewayFactory(_upstream);
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 100);
        using var client = new GatewayClient(gateway, key);

        var requestId = await ReadFirstBytesThenLeaveAsync(client, "/openai/v1/chat/completions",
            """{"model":"gpt-5","stream":true,"max_completion_tokens":12000,"messages":[{"role":"user","content":"think hard"}]}""");

        // gpt-5: 125 micro-credits per input token, 1000 per output token (reasoning is output): 19 × 125 + 10,020 × 1000.
        var record = await WaitForRecordAsync(client, requestId);
        Assert.Equal(10.022375m, record["credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task DrainTimesOutBeforeUsage_FallsBackToPartialCount()
    {
        // The usage would come 20 s after the client left; a 1 s drain gives up and charges what was counted.
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", OpenAiStream(),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 20, ["totalDuration"] = 20000 } });
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?> { ["Metering:DrainAfterDisconnect"] = "00:00:01" });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 100);
        using var client = new GatewayClient(gateway, key);

        var requestId = await ReadFirstBytesThenLeaveAsync(client, "/openai/v1/chat/completions",
            """{"model":"gpt-5","stream":true,"max_completion_tokens":12000,"messages":[{"role":"user","content":"think hard"}]}""");

        var record = await WaitForRecordAsync(client, requestId, TimeSpan.FromSeconds(15));
        Assert.Equal("partial", record["usageSource"]!.GetValue<string>());
        Assert.True(record["outputTokens"]!.GetValue<long>() < 10_020);
        Assert.Equal(0m, (await client.BalanceAsync())["held"]!.GetValue<decimal>());
    }

    private static async Task<string> ReadFirstBytesThenLeaveAsync(GatewayClient client, string path, string body)
    {
        using var cts = new CancellationTokenSource();
        using var response = await client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var buffer = new byte[64];
        Assert.True(await stream.ReadAsync(buffer, cts.Token) > 0);
        cts.Cancel();
        return requestId;
    }

    private static async Task<JsonObject> WaitForRecordAsync(GatewayClient client, string requestId, TimeSpan? timeout = null)
    {
        // The record is written when the gateway stops reading the upstream, seconds after the client left.
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await client.Http.GetAsync($"/v1/credits/calls/{requestId}");
            if (response.IsSuccessStatusCode) return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            if (DateTime.UtcNow > until) throw new TimeoutException($"No call record for {requestId}: {(int)response.StatusCode}");
            await Task.Delay(200);
        }
    }

    private static string OpenAiStream()
    {
        var sb = new StringBuilder();
        const string head = "data: {\"id\":\"chatcmpl-r\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-5\",";
        sb.Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
        for (var i = 0; i < 16; i++) sb.Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w").Append(i).Append("\"},\"finish_reason\":null}]}\n\n");
        sb.Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        sb.Append(head).Append("\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10020,\"total_tokens\":10039,")
          .Append("\"completion_tokens_details\":{\"reasoning_tokens\":10000}}}\n\n");
        sb.Append("data: [DONE]\n\n");
        return sb.ToString();
    }

    private static string AnthropicStream()
    {
        var sb = new StringBuilder();
        sb.Append("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_r\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n");
        sb.Append("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        for (var i = 0; i < 15; i++) sb.Append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" w").Append(i).Append("\"}}\n\n");
        sb.Append("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
        sb.Append("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":10020}}\n\n");
        sb.Append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        return sb.ToString();
    }

    private static string GeminiStream()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 19; i++)
            sb.Append("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" w").Append(i).Append("\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,\"totalTokenCount\":8}}\r\n\r\n");
        sb.Append("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\".\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],")
          .Append("\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":20,\"thoughtsTokenCount\":10000,\"totalTokenCount\":10028}}\r\n\r\n");
        return sb.ToString();
    }
}

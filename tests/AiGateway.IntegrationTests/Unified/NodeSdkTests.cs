using System.Diagnostics;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Unified;

/// <summary>
/// The unified endpoint through the official OpenAI <b>Node</b> SDK: <c>tests/node-sdk/chat.mjs</c> (openai pinned in its
/// package-lock.json, installed by tests/scripts/install-node-sdk.sh) runs as a child process against the gateway on its
/// real loopback port, and prints a JSON summary of what the SDK parsed. Same upstream fixtures and the same charges,
/// computed by hand from config/prices.json, as <see cref="UnifiedEndpointTests"/> (micro-credits per token:
/// claude-sonnet-4-5 input 300 / cache read 30 / cache write 375 / output 1500; gemini-2.5-flash input 30 / cached 3 /
/// output and thinking 250).
/// </summary>
public sealed class NodeSdkTests : IAsyncLifetime
{
    private static readonly string SdkDirectory = Path.Combine(RepoPaths.Root, "tests", "node-sdk");

    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private GatewayClient _client = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        // As in UnifiedEndpointTests: enough for a hold of Claude's whole 64,000-token output (96 credits).
        (_, var key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 200);
        _client = new GatewayClient(_gateway, key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
    }

    [Fact]
    public async Task NodeSdk_ClaudeJsonWithToolCalls_TranslatedAndChargedFromNativeUsage()
    {
        await _upstream.StubJsonAsync("POST", "/v1/messages", 200, Fixtures.Read("anthropic/messages-tool-use.json"));

        var summary = await RunNodeAsync("anthropic/claude-sonnet-4.5", "json");

        Assert.Equal("chat.completion", (string?)summary["object"]);
        Assert.Equal("tool_calls", (string?)summary["finishReason"]);
        Assert.Equal("I'll check both cities.", (string?)summary["text"]);
        Assert.Equal([("toolu_01A09q90qw90lq917835lq9", "get_weather"), ("toolu_01B7x2kq81mz3kq8d1p4lz2", "get_weather")], ToolCalls(summary).Select(c => (c.Id, c.Name)));
        Assert.Equal("""{"city":"Zürich"}""", ToolCalls(summary)[1].Arguments);
        // Anthropic's input_tokens (312) excludes cache reads (1000) and writes (50): OpenAI's prompt_tokens is the total.
        AssertUsage(summary, prompt: 1362, cached: 1000, completion: 97);
        // 312 × 300 + 1000 × 30 + 50 × 375 + 97 × 1500 = 93,600 + 30,000 + 18,750 + 145,500 = 287,850 micro.
        Assert.Equal("0.28785", (string?)summary["creditsCharged"]);
        await AssertChargedAsync(summary, 0.28785m, "anthropic");
        // The SDK's tool results reached Anthropic as tool_result blocks.
        var body = JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!;
        Assert.Equal(["call_p", "call_r"], body["messages"]![2]!["content"]!.AsArray()
            .Where(b => (string?)b!["type"] == "tool_result").Select(b => (string?)b!["tool_use_id"]));
    }

    [Fact]
    public async Task NodeSdk_ClaudeStream_AssemblesTextAndTheUsageChunk()
    {
        await _upstream.StubSseAsync("POST", "/v1/messages", Fixtures.Read("anthropic/messages-stream.sse"));

        var summary = await RunNodeAsync("claude-sonnet-4-5", "stream");

        Assert.Equal("chat.completion.chunk", (string?)summary["object"]);
        Assert.Equal("Hello, wörld — 你好!", (string?)summary["text"]);
        Assert.Equal("stop", (string?)summary["finishReason"]);
        Assert.Empty(ToolCalls(summary));
        // 472 input + 2048 cache reads + 100 cache writes = 2620 prompt tokens; 15 output tokens (message_delta).
        AssertUsage(summary, prompt: 2620, cached: 2048, completion: 15);
        // 472 × 300 + 2048 × 30 + 100 × 375 + 15 × 1500 = 141,600 + 61,440 + 37,500 + 22,500 = 263,040 micro.
        await AssertChargedAsync(summary, 0.26304m, "anthropic");
        Assert.True(JsonNode.Parse(Assert.Single(await _upstream.ReceivedAsync()).Body)!["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task NodeSdk_GeminiStreamWithToolCalls_AssemblesCallsAndReasoningUsage()
    {
        await _upstream.StubSseAsync("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", Fixtures.Read("gemini/stream-function-call.sse"));

        var summary = await RunNodeAsync("google/gemini-2.5-flash", "tools-stream");

        Assert.Equal("Sure — ", (string?)summary["text"]);
        Assert.Equal("tool_calls", (string?)summary["finishReason"]);
        var calls = ToolCalls(summary);
        Assert.Equal([("get_weather", """{"city":"Paris"}"""), ("get_time", """{"tz":"Europe/Rome"}""")], calls.Select(c => (c.Name, c.Arguments)));
        Assert.Equal(2, calls.Select(c => c.Id).Distinct().Count(id => !string.IsNullOrEmpty(id)));
        // 80 prompt tokens (20 cached); 25 candidate + 30 thinking = 55 completion tokens.
        AssertUsage(summary, prompt: 80, cached: 20, completion: 55, reasoning: 30);
        // 60 × 30 + 20 × 3 + 55 × 250 = 1,800 + 60 + 13,750 = 15,610 micro.
        await AssertChargedAsync(summary, 0.01561m, "gemini");
        Assert.Contains("alt=sse", Assert.Single(await _upstream.ReceivedAsync()).Url);
    }

    private static List<(string? Id, string? Name, string? Arguments)> ToolCalls(JsonNode summary) =>
        summary["toolCalls"]!.AsArray().Select(c => ((string?)c!["id"], (string?)c["name"], (string?)c["arguments"])).ToList();

    private static void AssertUsage(JsonNode summary, long prompt, long cached, long completion, long? reasoning = null)
    {
        var usage = summary["usage"] ?? throw new Xunit.Sdk.XunitException("the SDK saw no usage: " + summary.ToJsonString());
        Assert.Equal((prompt, cached, completion, prompt + completion),
            ((long)usage["prompt_tokens"]!, (long)usage["cached_tokens"]!, (long)usage["completion_tokens"]!, (long)usage["total_tokens"]!));
        if (reasoning is not null) Assert.Equal(reasoning, (long?)usage["reasoning_tokens"]);
    }

    /// <summary>The call record of the SDK's request (its X-Request-Id) and the balance both show exactly <paramref name="credits"/>.</summary>
    private async Task AssertChargedAsync(JsonNode summary, decimal credits, string provider)
    {
        var requestId = (string?)summary["requestId"];
        Assert.False(string.IsNullOrEmpty(requestId), "the SDK's response had no X-Request-Id");
        var record = await _client.CallAsync(requestId);
        Assert.Equal((credits, provider, "provider"), (record["credits"]!.GetValue<decimal>(), (string?)record["provider"], (string?)record["usageSource"]));
        Assert.Equal(200m - credits, await _client.AvailableAsync());
    }

    /// <summary>
    /// Runs <c>node tests/node-sdk/chat.mjs</c> against the gateway and returns its JSON summary. Fails (never skips)
    /// when node or the installed SDK is missing: the README's test command installs both.
    /// </summary>
    private async Task<JsonNode> RunNodeAsync(string model, string mode)
    {
        if (!File.Exists(Path.Combine(SdkDirectory, "node_modules", "openai", "package.json")))
            Assert.Fail($"The OpenAI Node SDK is not installed in {SdkDirectory}: run tests/scripts/install-node-sdk.sh (scripts/test.sh does).");
        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = SdkDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("chat.mjs");
        psi.ArgumentList.Add(new Uri(_gateway.BaseAddress, "/v1").ToString());
        psi.ArgumentList.Add(model);
        psi.ArgumentList.Add(mode);
        // The key goes by environment, never on the command line (a process list would show it).
        psi.Environment["AIGW_KEY"] = _client.Key;
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"node is not installed or not on PATH ({ex.Message}): run tests/scripts/install-node-sdk.sh (scripts/test.sh does).");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // A guard against a hung child, not a timing assertion: a healthy run takes well under a second.
            using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(hang.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new Xunit.Sdk.XunitException($"node chat.mjs {model} {mode} did not finish:\n{await stderr}");
            }
            var output = await stdout;
            var errors = await stderr;
            if (process.ExitCode != 0)
                throw new Xunit.Sdk.XunitException($"node chat.mjs {model} {mode} exited with {process.ExitCode}:\n{errors}{output}");
            Assert.DoesNotContain(_client.Key, output + errors, StringComparison.Ordinal);
            var summary = JsonNode.Parse(output) ?? throw new Xunit.Sdk.XunitException("chat.mjs printed nothing");
            Assert.StartsWith("openai-node ", (string?)summary["sdk"]);
            return summary;
        }
    }
}

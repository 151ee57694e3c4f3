using System.Buffers;
using System.Text;
using AiGateway.Accounts;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Proxy;
using AiGateway.Telemetry;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Bench;

/// <summary>
/// The non-ledger pieces of one metered call (issue #13), each on its own: parse, estimate, the response's usage (JSON
/// and SSE), the credit headers, the call record, and the forward step's bookkeeping (Polly retry + circuit breaker
/// around a forwarder that answers at once). Inputs are the ones bench/Metering/run.sh sends and its nginx answers.
/// </summary>
public class MeteringPieces
{
    /// <summary>wrk's body (bench/Metering/post.lua).</summary>
    private static readonly byte[] SmallBody = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}"""u8.ToArray();

    /// <summary>A chat with a system prompt, a few turns and a tool: ≈ 2 KB, closer to what an app sends.</summary>
    private static readonly byte[] ChatBody = Encoding.UTF8.GetBytes(BuildChat());

    private static readonly byte[] JsonAnswer =
        """{"id":"chatcmpl-bench","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":9,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"system_fingerprint":"fp_bench"}"""u8.ToArray();

    private static readonly byte[] SseAnswer = Encoding.UTF8.GetBytes(string.Concat(
        Chunk("""{"role":"assistant","content":""}""", "null"), Chunk("""{"content":"Hello!"}""", "null"),
        Chunk("""{"content":" How can I"}""", "null"), Chunk("""{"content":" help you today?"}""", "null"),
        Chunk("{}", "\"stop\""),
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":9,\"total_tokens\":22}}\n\n",
        "data: [DONE]\n\n"));

    /// <summary>Anthropic's stream of the same kind of answer (the repo's test fixture: thinking, text, usage split in two).</summary>
    private static readonly byte[] AnthropicSseAnswer = File.ReadAllBytes(Path.Combine(FindRepo(), "tests", "Fixtures", "anthropic", "messages-stream.sse"));

    private CallEstimator _estimator = null!;
    private ParsedRequest _request = null!;
    private CallEstimate _estimate = null!;
    private ResilientForwarder _forwarder = null!;
    private ReverseProxyFeature _proxy = null!;
    private readonly CallerAccount _caller = new(Guid.NewGuid(), Guid.NewGuid(), "gw_bench", null);
    private readonly ArrayBufferWriter<byte> _toClient = new(16 * 1024);

    /// <summary>Which request body: wrk's tiny one, or a 2 KB chat.</summary>
    [Params("small", "chat")]
    public string Body { get; set; } = "small";

    private byte[] RequestBody => Body == "small" ? SmallBody : ChatBody;

    [GlobalSetup]
    public void Setup()
    {
        var repo = FindRepo();
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(repo, "config", "prices.json")).Build();
        var pricing = configuration.GetSection(PricingOptions.SectionName).Get<PricingOptions>()!;
        _estimator = new CallEstimator(new PriceBook(pricing), new OutputTokenStats());
        _request = Parse().Request!;
        _estimate = _estimator.Estimate(_request).Estimate!;

        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new GatewayMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), services);
        _forwarder = new ResilientForwarder(new AnsweringForwarder(), Options.Create(new MeteringOptions()), TimeProvider.System, metrics,
            NullLogger<ResilientForwarder>.Instance);
        var destination = new DestinationState("primary", new DestinationModel(new DestinationConfig { Address = "http://127.0.0.1:9/" }));
        var cluster = new ClusterModel(new ClusterConfig { ClusterId = "openai" }, new HttpMessageInvoker(new SocketsHttpHandler()));
        _proxy = new ReverseProxyFeature
        {
            Route = new RouteModel(new RouteConfig { RouteId = "openai", ClusterId = "openai" }, null, HttpTransformer.Default),
            Cluster = cluster,
            AllDestinations = [destination],
            AvailableDestinations = [destination],
        };
    }

    [GlobalCleanup]
    public void Cleanup() => _request.Dispose();

    private RequestParseResult Parse() =>
        ProviderRequestParser.Parse(ProviderFormat.OpenAi, "v1/chat/completions", null, RequestBody, "POST");

    private MeteredCall NewCall() => new("req_0190aa", _caller, _request, _estimate, "openai", "openai", DateTimeOffset.UtcNow);

    /// <summary>Step 2: parse (validate + what pricing needs) and release the document.</summary>
    [Benchmark]
    public bool ParseRequest()
    {
        using var request = Parse().Request!;
        return request.Stream;
    }

    /// <summary>Step 3: tokenize and price the parsed request.</summary>
    [Benchmark]
    public long Estimate() => _estimator.Estimate(_request).Estimate!.Held.Micro;

    /// <summary>The call's state object as the middleware creates it.</summary>
    [Benchmark]
    public int NewMeteredCall() => NewCall().AttemptCount;

    /// <summary>Usage of a buffered JSON answer.</summary>
    [Benchmark]
    public long UsageFromJson() => UsageReader.FromJson(Operation.OpenAiChatCompletions, JsonAnswer)!.OutputTokens;

    /// <summary>Usage of an SSE answer passing through in one chunk (as nginx sends it), copied to the client buffer.</summary>
    [Benchmark]
    public long UsageFromSse()
    {
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: false);
        _toClient.ResetWrittenCount();
        observer.Process(SseAnswer, _toClient);
        observer.Complete(_toClient);
        return observer.Usage!.OutputTokens;
    }

    /// <summary>Usage of an Anthropic Messages stream (12 events) passing through in one chunk.</summary>
    [Benchmark]
    public long UsageFromAnthropicSse()
    {
        var observer = new StreamObserver(Operation.AnthropicMessages, hideUsageChunk: false);
        _toClient.ResetWrittenCount();
        observer.Process(AnthropicSseAnswer, _toClient);
        observer.Complete(_toClient);
        return observer.Usage!.OutputTokens;
    }

    /// <summary>The X-Credits-* headers of a settled JSON answer.</summary>
    [Benchmark]
    public int CreditHeadersWrite()
    {
        var context = new DefaultHttpContext();
        CreditHeaders.Write(context.Response, NewCall(), new Credits(99_123_456_789), new Credits(12_345));
        return context.Response.Headers.Count;
    }

    /// <summary>Building the call's record (the interrupted record a leased or held call carries is the same build).</summary>
    [Benchmark]
    public int BuildCallRecord() => CallRecorder.Interrupted(NewCall()).Error!.Length;

    /// <summary>Step 6 without the network: destinations, Polly retry + breaker, attempt bookkeeping, around a forwarder that answers 200.</summary>
    [Benchmark]
    public async Task<int> Forward()
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IReverseProxyFeature>(_proxy);
        var call = NewCall();
        await _forwarder.ForwardAsync(context, call, RequestBody);
        return call.AttemptCount;
    }

    private sealed class AnsweringForwarder : IHttpForwarder
    {
        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient,
            ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        {
            context.Response.StatusCode = 200;
            return ValueTask.FromResult(ForwarderError.None);
        }

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient,
            ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken) =>
            SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer);
    }

    private static string Chunk(string delta, string finish) =>
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":" +
        delta + ",\"finish_reason\":" + finish + "}],\"usage\":null}\n\n";

    private static string BuildChat()
    {
        var messages = new List<object>
        {
            new { role = "system", content = "You are a helpful assistant for a travel agency. Answer briefly, cite prices in euros, and ask before booking anything." },
        };
        for (var i = 0; i < 6; i++)
        {
            messages.Add(new { role = "user", content = $"Turn {i}: which trains go from Lyon to Milan next Tuesday morning, and how long do they take?" });
            messages.Add(new { role = "assistant", content = $"Turn {i}: two direct trains leave at 06:24 and 10:12; both take about 6 h 50 min. Shall I check seats?" });
        }
        var tools = new[] { new { type = "function", function = new { name = "search_trains", description = "Find trains between two cities on a date.",
            parameters = new { type = "object", properties = new { from = new { type = "string" }, to = new { type = "string" }, date = new { type = "string" } } } } } };
        return System.Text.Json.JsonSerializer.Serialize(new { model = "gpt-4o-mini", messages, tools, max_tokens = 400 });
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "config", "prices.json"))) return dir.FullName;
        throw new InvalidOperationException("config/prices.json not found above " + AppContext.BaseDirectory);
    }
}

using System.Buffers;
using AiGateway.Metering;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

public class ProviderDialectTests
{
    /// <summary>
    /// Every fixture under tests/Fixtures, with the request that produces it: the wire format, the path after the route
    /// prefix and a body. A fixture added without a row here fails <see cref="EveryFixture_IsRoundTripped"/>.
    /// </summary>
    public static TheoryData<string, ProviderFormat, string, string> FixtureRequests => new()
    {
        { "openai/chat-completion.json", ProviderFormat.OpenAi, "v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""" },
        { "openai/chat-stream-with-usage.sse", ProviderFormat.OpenAi, "v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""" },
        { "openai/chat-stream-no-usage.sse", ProviderFormat.OpenAi, "v1/chat/completions", """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""" },
        { "openai/responses.json", ProviderFormat.OpenAi, "v1/responses", """{"model":"o4-mini","input":"hi"}""" },
        { "openai/responses-stream.sse", ProviderFormat.OpenAi, "v1/responses", """{"model":"o4-mini","input":"hi","stream":true}""" },
        { "openai/embeddings.json", ProviderFormat.OpenAi, "v1/embeddings", """{"model":"text-embedding-3-small","input":"hi"}""" },
        { "openai/images.json", ProviderFormat.OpenAi, "v1/images/generations", """{"model":"gpt-image-1","prompt":"a cat","n":2}""" },
        { "openai/video.json", ProviderFormat.OpenAi, "v1/videos", """{"model":"sora-2","prompt":"a cat","seconds":"8"}""" },
        { "anthropic/messages.json", ProviderFormat.Anthropic, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""" },
        { "anthropic/messages-stream.sse", ProviderFormat.Anthropic, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}""" },
        { "gemini/generate-content.json", ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""" },
        { "gemini/stream-generate-content.sse", ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:streamGenerateContent",
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""" },
        // Tool-call answers, used by the unified endpoint's translation tests.
        { "anthropic/messages-tool-use.json", ProviderFormat.Anthropic, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""" },
        { "anthropic/messages-stream-tool-use.sse", ProviderFormat.Anthropic, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}""" },
        { "gemini/generate-content-function-call.json", ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""" },
        { "gemini/stream-function-call.sse", ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:streamGenerateContent",
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""" },
    };

    [Fact]
    public void EveryProviderFormat_HasItsOwnDialect()
    {
        foreach (var format in Enum.GetValues<ProviderFormat>())
            Assert.Equal(format, ProviderDialects.For(format).Format);
        Assert.Equal(Enum.GetValues<ProviderFormat>().Length, ProviderDialects.All.Select(d => d.Format).Distinct().Count());
    }

    [Fact]
    public void EveryMeteredOperation_BelongsToExactlyOneDialect()
    {
        Assert.Null(ProviderDialects.For(Operation.Unmetered));
        foreach (var operation in Enum.GetValues<Operation>().Where(o => o != Operation.Unmetered))
        {
            var owners = ProviderDialects.All.Where(d => d.Operations.Contains(operation)).ToList();
            var owner = Assert.Single(owners);
            Assert.Same(owner, ProviderDialects.For(operation));
        }
    }

    [Fact]
    public void EveryFixture_IsRoundTripped()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        var onDisk = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
        var covered = FixtureRequests.Select(row => (string)row[0]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(onDisk, covered);
    }

    [Theory]
    [MemberData(nameof(FixtureRequests))]
    public void Fixture_ParsesAndReadsUsageThroughItsDialect(string fixture, ProviderFormat format, string path, string requestBody)
    {
        var dialect = ProviderDialects.For(format);
        var parse = ProviderRequestParser.Parse(format, path, null, Fixture.Utf8(requestBody));
        Assert.True(parse.IsSuccess, parse.Error?.Message);
        using var request = parse.Request;
        Assert.True(request.IsMetered);
        Assert.Same(dialect, request.Dialect);
        Assert.Contains(request.Operation, dialect.Operations);

        var response = Fixture.Bytes(fixture);
        CallUsage? usage;
        if (fixture.EndsWith(".sse", StringComparison.Ordinal))
        {
            Assert.True(request.Stream);
            var observer = new StreamObserver(request, hideUsageChunk: false);
            var output = new ArrayBufferWriter<byte>();
            observer.Process(response, output);
            observer.Complete(output);
            Assert.Equal(response, output.WrittenSpan.ToArray());
            Assert.True(observer.SawTerminalEvent);
            Assert.NotEmpty(observer.DeliveredOutputText);
            usage = observer.Usage;
            if (fixture.Contains("no-usage", StringComparison.Ordinal))
            {
                Assert.Null(usage);
                return;
            }
        }
        else
        {
            usage = UsageReader.FromJson(request, response);
            // The operation-keyed entry point resolves the same dialect and reads the same usage.
            Assert.Equal(usage, UsageReader.FromJson(request.Operation, response));
        }

        Assert.NotNull(usage);
        Assert.True(usage.InputTokens > 0 || usage.Images > 0 || usage.VideoSeconds > 0, $"{fixture}: {usage}");
    }

    [Fact]
    public void RemoveClientKeys_StripsTheKeyPlaceOfEveryDialect()
    {
        foreach (var dialect in ProviderDialects.All)
        {
            // Where a dialect puts the provider key is where its SDK sends keys: a client key there must never go upstream,
            // whichever route it arrives on.
            using var message = new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/");
            dialect.ApplyProviderKey(message, "gw-test-key");
            foreach (var header in dialect.KeyHeaders) message.Headers.TryAddWithoutValidation(header, "gw-test-key");
            Assert.NotEmpty(message.Headers);
            ProviderCredentials.RemoveClientKeys(message);
            Assert.True(!message.Headers.Any(), $"{dialect.Format}: {string.Join(", ", message.Headers.Select(h => h.Key))} left");
        }
    }

    [Fact]
    public void DialectLookup_DoesNotAllocate()
    {
        var formats = Enum.GetValues<ProviderFormat>();
        Assert.NotNull(ProviderDialects.For(formats[0])); // warm up the registry
        var before = GC.GetAllocatedBytesForCurrentThread();
        var hits = 0;
        for (var i = 0; i < 1000; i++)
        {
            var format = formats[i % formats.Length];
            if (ProviderDialects.For(format).Format == format) hits++;
            if (ProviderDialects.For(Operation.AnthropicMessages) is not null) hits++;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2000, hits);
        Assert.Equal(0, allocated);
    }
}

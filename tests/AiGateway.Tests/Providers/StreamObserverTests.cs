using System.Buffers;
using System.Text;
using AiGateway.Metering;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

public class StreamObserverTests
{
    public static TheoryData<string, Operation, string> SseFixtures => new()
    {
        { "openai/chat-stream-with-usage.sse", Operation.OpenAiChatCompletions, "\n" },
        { "openai/chat-stream-no-usage.sse", Operation.OpenAiChatCompletions, "\n" },
        { "openai/responses-stream.sse", Operation.OpenAiResponses, "\n" },
        { "anthropic/messages-stream.sse", Operation.AnthropicMessages, "\n" },
        { "gemini/stream-generate-content.sse", Operation.GeminiStreamGenerateContent, "\n" },
        { "openai/chat-stream-with-usage.sse", Operation.OpenAiChatCompletions, "\r\n" },
        { "anthropic/messages-stream.sse", Operation.AnthropicMessages, "\r" },
        { "gemini/stream-generate-content.sse", Operation.GeminiStreamGenerateContent, "\r\n" },
    };

    private static readonly CallUsage OpenAiChatUsage = new() { InputTokens = 19, OutputTokens = 10 };
    private static readonly CallUsage AnthropicStreamUsage = new()
    {
        InputTokens = 472 + 2048 + 100, CachedInputTokens = 2048, CacheWriteInputTokens = 100, OutputTokens = 15,
    };

    [Theory]
    [MemberData(nameof(SseFixtures))]
    public void Process_SplitAtEveryByte_GivesIdenticalOutputAndUsage(string fixture, Operation operation, string lineEnding)
    {
        var body = Fixture.WithLineEnding(fixture, lineEnding);
        var whole = new StreamObserver(operation, hideUsageChunk: false);
        var expectedOutput = Fixture.Observe(whole, body);
        Assert.Equal(body, expectedOutput);
        Assert.Equal(!fixture.Contains("no-usage"), whole.Usage is not null);
        Assert.True(whole.SawTerminalEvent);
        Assert.NotEmpty(whole.DeliveredOutputText);

        for (var split = 0; split <= body.Length; split++)
        {
            var observer = new StreamObserver(operation, hideUsageChunk: false);
            var output = Fixture.Observe(observer, body[..split], body[split..]);
            Assert.True(expectedOutput.AsSpan().SequenceEqual(output), $"output differs at split {split}");
            Assert.Equal(whole.Usage, observer.Usage);
            Assert.Equal(whole.DeliveredOutputText, observer.DeliveredOutputText);
            Assert.True(observer.SawTerminalEvent, $"terminal event lost at split {split}");
        }
    }

    [Theory]
    [MemberData(nameof(SseFixtures))]
    public void Process_OneByteChunks_GivesIdenticalOutputAndUsage(string fixture, Operation operation, string lineEnding)
    {
        var body = Fixture.WithLineEnding(fixture, lineEnding);
        var whole = new StreamObserver(operation, hideUsageChunk: false);
        Fixture.Observe(whole, body);

        var observer = new StreamObserver(operation, hideUsageChunk: false);
        var output = Fixture.Observe(observer, body.Select(b => new[] { b }).ToArray());
        Assert.Equal(body, output);
        Assert.Equal(whole.Usage, observer.Usage);
        Assert.Equal(whole.DeliveredOutputText, observer.DeliveredOutputText);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Process_HiddenUsageChunk_IsRemovedAndEverythingElseByteIdentical(string lineEnding)
    {
        var body = Fixture.WithLineEnding("openai/chat-stream-with-usage.sse", lineEnding);
        var separator = lineEnding + lineEnding;
        var blocks = Encoding.UTF8.GetString(body).Split(separator);
        var expected = Encoding.UTF8.GetBytes(string.Join(separator, blocks.Where(b => !b.Contains("\"choices\":[]"))));
        Assert.True(expected.Length < body.Length);

        for (var split = 0; split <= body.Length; split++)
        {
            var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true);
            var output = Fixture.Observe(observer, body[..split], body[split..]);
            Assert.True(expected.AsSpan().SequenceEqual(output), $"output differs at split {split}");
            Assert.Equal(OpenAiChatUsage, observer.Usage);
            Assert.True(observer.SawTerminalEvent);
        }
    }

    [Fact]
    public void Process_UsageChunkNotHidden_StaysInOutput()
    {
        var body = Fixture.Bytes("openai/chat-stream-with-usage.sse");
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: false);
        var output = Fixture.Observe(observer, body);
        Assert.Equal(body, output);
        Assert.Contains("\"choices\":[],\"usage\":{\"prompt_tokens\":19", Encoding.UTF8.GetString(output));
    }

    [Fact]
    public void Process_OpenAiChatWithoutIncludeUsage_HasNoUsageButSeesDone()
    {
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: false);
        Fixture.Observe(observer, Fixture.Bytes("openai/chat-stream-no-usage.sse"));
        Assert.Null(observer.Usage);
        Assert.True(observer.SawTerminalEvent);
        Assert.Equal("Hello! How can I help — é 日本?", observer.DeliveredOutputText);
    }

    [Fact]
    public void Process_OpenAiChatWithIncludeUsage_ReadsFinalUsageChunk()
    {
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: false);
        Fixture.Observe(observer, Fixture.Bytes("openai/chat-stream-with-usage.sse"));
        Assert.Equal(OpenAiChatUsage, observer.Usage);
    }

    [Fact]
    public void Process_UsageOnContentChunk_IsReadButNeverHidden()
    {
        var body = Fixture.Utf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n");
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true);
        Assert.Equal(body, Fixture.Observe(observer, body));
        Assert.Equal(3, observer.Usage!.InputTokens);
    }

    [Fact]
    public void Process_ResponsesStream_ReadsUsageFromResponseCompleted()
    {
        var observer = new StreamObserver(Operation.OpenAiResponses, hideUsageChunk: false);
        Fixture.Observe(observer, Fixture.Bytes("openai/responses-stream.sse"));
        Assert.Equal(new CallUsage { InputTokens = 1536, CachedInputTokens = 1024, OutputTokens = 620, ReasoningTokens = 512 }, observer.Usage);
        Assert.True(observer.SawTerminalEvent);
        Assert.Equal("Hi there — ünïcode ✓", observer.DeliveredOutputText);
    }

    [Fact]
    public void Process_AnthropicSplitUsage_CombinesMessageStartInputWithMessageDeltaOutput()
    {
        var observer = new StreamObserver(Operation.AnthropicMessages, hideUsageChunk: false);
        Fixture.Observe(observer, Fixture.Bytes("anthropic/messages-stream.sse"));
        Assert.Equal(AnthropicStreamUsage, observer.Usage);
        Assert.True(observer.SawTerminalEvent);
        Assert.Equal("Let me think.Hello, wörld — 你好!", observer.DeliveredOutputText);
    }

    [Fact]
    public void Process_AnthropicMessageDeltaOutput_IsCumulativeSoLastWins()
    {
        var body = Fixture.Utf8(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\n\n" +
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":12}}\n\n");
        var observer = new StreamObserver(Operation.AnthropicMessages, hideUsageChunk: false);
        Fixture.Observe(observer, body);
        Assert.Equal(new CallUsage { InputTokens = 10, OutputTokens = 12 }, observer.Usage);
        Assert.False(observer.SawTerminalEvent);
    }

    [Fact]
    public void Process_GeminiThoughts_LastUsageMetadataWinsWithThoughtsInOutput()
    {
        var observer = new StreamObserver(Operation.GeminiStreamGenerateContent, hideUsageChunk: false);
        Fixture.Observe(observer, Fixture.Bytes("gemini/stream-generate-content.sse"));
        Assert.Equal(new CallUsage { InputTokens = 12, OutputTokens = 21 + 124, ReasoningTokens = 124 }, observer.Usage);
        Assert.True(observer.SawTerminalEvent);
    }

    [Fact]
    public void Process_GeminiJsonArrayFraming_ReadsUsageWithoutSse()
    {
        var body = Fixture.Utf8("[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a ]} \\\" b\"}]}}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":1}}\r\n,\r\n"
            + "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"c\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":3}}]");
        for (var split = 0; split <= body.Length; split++)
        {
            var observer = new StreamObserver(Operation.GeminiStreamGenerateContent, hideUsageChunk: false);
            Assert.Equal(body, Fixture.Observe(observer, body[..split], body[split..]));
            Assert.Equal(new CallUsage { InputTokens = 4, OutputTokens = 5, ReasoningTokens = 3 }, observer.Usage);
            Assert.Equal("a ]} \" bc", observer.DeliveredOutputText);
            Assert.True(observer.SawTerminalEvent);
        }
    }

    [Fact]
    public void Process_StreamCutBeforeTerminal_ReportsDeliveredTextAndNoTerminal()
    {
        var body = Fixture.Bytes("anthropic/messages-stream.sse");
        var text = Encoding.UTF8.GetString(body);
        var cut = Encoding.UTF8.GetByteCount(text[..text.IndexOf("event: message_delta", StringComparison.Ordinal)]);
        var observer = new StreamObserver(Operation.AnthropicMessages, hideUsageChunk: false);
        var output = new ArrayBufferWriter<byte>();
        observer.Process(body.AsSpan(0, cut), output);
        Assert.False(observer.SawTerminalEvent);
        Assert.Equal(2, observer.Usage!.OutputTokens); // only message_start's placeholder so far
        Assert.Equal("Let me think.Hello, wörld — 你好!", observer.DeliveredOutputText);
    }

    [Fact]
    public void Process_NewObserverPerAttempt_DoesNotCarryUsageOver()
    {
        var first = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true);
        Fixture.Observe(first, Fixture.Bytes("openai/chat-stream-with-usage.sse"));
        var retry = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true);
        Fixture.Observe(retry, Fixture.Utf8("data: [DONE]\n\n"));
        Assert.NotNull(first.Usage);
        Assert.Null(retry.Usage);
    }

    [Fact]
    public void Process_AfterComplete_Throws()
    {
        var observer = new StreamObserver(Operation.OpenAiResponses, hideUsageChunk: false);
        observer.Complete(new ArrayBufferWriter<byte>());
        Assert.Throws<InvalidOperationException>(() => observer.Process("data: x\n\n"u8, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void Process_EventLargerThanLimit_PassesThroughWithoutUsage()
    {
        var huge = new string('x', 5000);
        var body = Fixture.Utf8($"data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":1}},\"pad\":\"{huge}\"}}\n\ndata: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":2,\"completion_tokens\":1}}}}\n\ndata: [DONE]\n\n");
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true, maxEventBytes: 1024);
        var output = Fixture.Observe(observer, body[..700], body[700..3000], body[3000..]);
        var text = Encoding.UTF8.GetString(output);
        Assert.Contains(huge, text); // too big to inspect, so it streams on instead of being held
        Assert.DoesNotContain("\"prompt_tokens\":2", text); // the normal usage chunk is still hidden
        Assert.Equal(2, observer.Usage!.InputTokens);
    }

    [Fact]
    public void Complete_UnterminatedFinalEvent_IsStillRead()
    {
        var body = Fixture.Utf8("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}");
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: false);
        Assert.Equal(body, Fixture.Observe(observer, body));
        Assert.Equal(5, observer.Usage!.InputTokens);
    }

    [Fact]
    public void Process_InvalidUtf8Event_PassesThroughWithoutThrowing()
    {
        byte[] body = [.. "data: {\"choices\":[{\"delta\":{\"content\":\""u8, 0xC3, .. "\"}}]}\n\ndata: [DONE]\n\n"u8];
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true);
        Assert.Equal(body, Fixture.Observe(observer, body));
        Assert.True(observer.SawTerminalEvent);
    }
}

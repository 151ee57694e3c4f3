using System.Text;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

/// <summary>Issue #12 item 4: a usage report that cannot be read (or is impossible) is no report, never a zero.</summary>
public class UnreadableUsageTests
{
    [Theory]
    [InlineData("\"100000\"")]
    [InlineData("-5")]
    [InlineData("1e30")]
    [InlineData("12.5")]
    [InlineData("true")]
    public void FromJson_OpenAiChatWithUnreadableCount_ReportsNoUsage(string value)
    {
        var body = $$$"""{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":{{{value}}}}}""";
        Assert.Null(UsageReader.FromJson(Operation.OpenAiChatCompletions, Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void FromJson_IntegralFloatAndLargeInteger_AreStillRead()
    {
        var usage = UsageReader.FromJson(Operation.OpenAiChatCompletions,
            Encoding.UTF8.GetBytes("""{"usage":{"prompt_tokens":12.0,"completion_tokens":1000000000000}}"""));
        Assert.NotNull(usage);
        Assert.Equal(12, usage.InputTokens);
        Assert.Equal(1_000_000_000_000, usage.OutputTokens); // readable; bounding it is the settler's job
    }

    [Fact]
    public void FromJson_AnthropicNegativeInput_ReportsNoUsage() =>
        Assert.Null(UsageReader.FromJson(Operation.AnthropicMessages,
            Encoding.UTF8.GetBytes("""{"usage":{"input_tokens":-3,"output_tokens":20}}""")));

    [Fact]
    public void FromJson_GeminiStringCount_ReportsNoUsage() =>
        Assert.Null(UsageReader.FromJson(Operation.GeminiGenerateContent,
            Encoding.UTF8.GetBytes("""{"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":"500"}}""")));

    [Fact]
    public void Stream_AnthropicDeltaWithStringOutput_ReportsNoUsage()
    {
        var observer = new StreamObserver(Operation.AnthropicMessages, hideUsageChunk: false);
        Fixture.Observe(observer, Fixture.Utf8(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n" +
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":\"100000\"}}\n\n" +
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        Assert.True(observer.SawTerminalEvent);
        Assert.Null(observer.Usage);
        Assert.Equal("Hello", observer.DeliveredOutputText);
    }

    [Fact]
    public void Stream_OpenAiUsageChunkWithNegativeCount_ReportsNoUsageButStillHidesTheChunk()
    {
        var observer = new StreamObserver(Operation.OpenAiChatCompletions, hideUsageChunk: true);
        var toClient = Fixture.Observe(observer, Fixture.Utf8(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n" +
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":-1}}\n\n" +
            "data: [DONE]\n\n"));
        Assert.Null(observer.Usage);
        Assert.DoesNotContain("usage", Encoding.UTF8.GetString(toClient));
    }
}

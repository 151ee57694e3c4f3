using System.Buffers;
using System.Text;
using System.Text.Json;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

public class ProviderErrorWriterTests
{
    private static readonly GatewayError BadBody = new(GatewayErrorKind.BadRequest, "Invalid type for 'model'.", "invalid_request", "model");

    [Fact]
    public void ToJson_OpenAi_HasErrorObjectWithTypeParamAndCode()
    {
        var error = JsonDocument.Parse(ProviderErrorWriter.ToJson(ProviderFormat.OpenAi, BadBody)).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal("invalid_request", error.GetProperty("code").GetString());
    }

    [Fact]
    public void ToJson_Anthropic_HasTypeErrorEnvelope()
    {
        var root = JsonDocument.Parse(ProviderErrorWriter.ToJson(ProviderFormat.Anthropic, BadBody)).RootElement;
        Assert.Equal("error", root.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", root.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public void ToJson_Gemini_HasCodeAndStatus()
    {
        var error = JsonDocument.Parse(ProviderErrorWriter.ToJson(ProviderFormat.Gemini, BadBody)).RootElement.GetProperty("error");
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.Equal("INVALID_ARGUMENT", error.GetProperty("status").GetString());
    }

    [Fact]
    public void WriteStreamEvent_Anthropic_IsNamedErrorEvent()
    {
        var output = new ArrayBufferWriter<byte>();
        ProviderErrorWriter.WriteStreamEvent(output, ProviderFormat.Anthropic, new GatewayError(GatewayErrorKind.Unavailable, "busy"));
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.StartsWith("event: error\ndata: {\"type\":\"error\"", text);
        Assert.EndsWith("\n\n", text);
    }

    [Fact]
    public void WriteStreamEvent_OpenAi_IsUnnamedDataEvent()
    {
        var output = new ArrayBufferWriter<byte>();
        ProviderErrorWriter.WriteStreamEvent(output, ProviderFormat.OpenAi, BadBody);
        Assert.StartsWith("data: {\"error\":", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}

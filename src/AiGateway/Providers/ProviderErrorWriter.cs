using System.Buffers;
using System.Text.Json;
using AiGateway.Providers.Sse;

namespace AiGateway.Providers;

/// <summary>Writes a <see cref="GatewayError"/> as the JSON error body each provider's official SDK expects.</summary>
public static class ProviderErrorWriter
{
    /// <summary>Serializes the error body for the given provider format.</summary>
    public static byte[] ToJson(ProviderFormat format, GatewayError error)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            ProviderDialects.For(format).WriteError(w, error);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>Writes the error as the full HTTP response (status, content type, body).</summary>
    public static async Task WriteAsync(HttpContext context, ProviderFormat format, GatewayError error)
    {
        var response = context.Response;
        response.StatusCode = error.StatusCode;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(ToJson(format, error), context.RequestAborted);
    }

    /// <summary>
    /// Writes the error as a server-sent event, for a stream that already started (headers sent) and must end in error:
    /// Anthropic names it <c>event: error</c>; OpenAI and Gemini streams carry the plain error object as data.
    /// </summary>
    public static void WriteStreamEvent(IBufferWriter<byte> output, ProviderFormat format, GatewayError error) =>
        SseWriter.WriteEvent(output, ProviderDialects.For(format).StreamErrorEvent, ToJson(format, error));
}

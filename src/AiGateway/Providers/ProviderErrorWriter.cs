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
            switch (format)
            {
                case ProviderFormat.Anthropic:
                    // {"type":"error","error":{"type":"authentication_error","message":"..."}}
                    w.WriteString("type", "error");
                    w.WriteStartObject("error");
                    w.WriteString("type", AnthropicType(error.Kind));
                    w.WriteString("message", error.Message);
                    w.WriteEndObject();
                    break;
                case ProviderFormat.Gemini:
                    // {"error":{"code":401,"message":"...","status":"UNAUTHENTICATED"}}
                    w.WriteStartObject("error");
                    w.WriteNumber("code", error.StatusCode);
                    w.WriteString("message", error.Message);
                    w.WriteString("status", GeminiStatus(error.Kind));
                    w.WriteEndObject();
                    break;
                default:
                    // {"error":{"message":"...","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}
                    w.WriteStartObject("error");
                    w.WriteString("message", error.Message);
                    w.WriteString("type", OpenAiType(error.Kind));
                    if (error.Param is null) w.WriteNull("param"); else w.WriteString("param", error.Param);
                    if (error.Code is null) w.WriteNull("code"); else w.WriteString("code", error.Code);
                    w.WriteEndObject();
                    break;
            }
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
        SseWriter.WriteEvent(output, format == ProviderFormat.Anthropic ? "error"u8 : default, ToJson(format, error));

    private static string OpenAiType(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.Unauthorized => "invalid_request_error",
        GatewayErrorKind.InsufficientCredits => "insufficient_quota",
        GatewayErrorKind.RateLimited => "rate_limit_exceeded",
        GatewayErrorKind.Unavailable or GatewayErrorKind.BadGateway or GatewayErrorKind.GatewayTimeout => "server_error",
        _ => "invalid_request_error",
    };

    private static string AnthropicType(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.Unauthorized => "authentication_error",
        GatewayErrorKind.InsufficientCredits => "billing_error",
        GatewayErrorKind.NotFound => "not_found_error",
        GatewayErrorKind.PayloadTooLarge => "request_too_large",
        GatewayErrorKind.RateLimited => "rate_limit_error",
        GatewayErrorKind.Unavailable => "overloaded_error",
        GatewayErrorKind.BadGateway or GatewayErrorKind.GatewayTimeout => "api_error",
        _ => "invalid_request_error",
    };

    private static string GeminiStatus(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.Unauthorized => "UNAUTHENTICATED",
        GatewayErrorKind.InsufficientCredits => "RESOURCE_EXHAUSTED",
        GatewayErrorKind.NotFound => "NOT_FOUND",
        GatewayErrorKind.RateLimited => "RESOURCE_EXHAUSTED",
        GatewayErrorKind.Unavailable => "UNAVAILABLE",
        GatewayErrorKind.BadGateway => "INTERNAL",
        GatewayErrorKind.GatewayTimeout => "DEADLINE_EXCEEDED",
        _ => "INVALID_ARGUMENT",
    };
}

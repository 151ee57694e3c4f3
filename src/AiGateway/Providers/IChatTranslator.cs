using System.Buffers;
using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>
/// Optional dialect capability for the unified OpenAI-compatible endpoint: turns an OpenAI chat completions request
/// into this provider's native request, and the native response, error or stream back into OpenAI's shape. The native
/// request is then metered exactly like one sent to the provider's own route (parse, estimate, hold, forward, settle).
/// Declared here so the dialects have one place for it; implementations live in each provider's folder
/// (<c>Anthropic/AnthropicChatTranslator</c>, <c>Gemini/GeminiChatTranslator</c>).
/// </summary>
internal interface IChatTranslator
{
    /// <summary>
    /// Translates an OpenAI <c>chat/completions</c> body for <paramref name="model"/> (the provider's model id).
    /// <paramref name="defaultMaxOutputTokens"/> is the output limit to write when the client set none and the format
    /// requires one (null: leave it to the metering, which writes the limit its hold covers).
    /// Throws <see cref="InvalidRequestException"/> for a parameter the provider cannot honour (a 400, never a silent drop).
    /// </summary>
    TranslatedRequest TranslateRequest(JsonElement openAiChatRequest, string model, long? defaultMaxOutputTokens);

    /// <summary>Translates a complete native response body into an OpenAI <c>chat.completion</c> body; null when the body is not a response of this format.</summary>
    byte[]? TranslateResponse(ReadOnlySpan<byte> nativeResponse, ChatTranslationContext context);

    /// <summary>Translates a native error body (any non-2xx status) into OpenAI's error shape.</summary>
    byte[] TranslateError(ReadOnlySpan<byte> nativeError, int status);

    /// <summary>A new translator for one streamed attempt: native events in, OpenAI <c>chat.completion.chunk</c> events out.</summary>
    IChatStreamTranslator CreateStreamTranslator(ChatTranslationContext context);
}

/// <summary>A translated request, ready to forward to the provider's native route.</summary>
/// <param name="Path">The native path after the route prefix (e.g. <c>v1/messages</c>, <c>v1beta/models/m:streamGenerateContent</c>).</param>
/// <param name="Body">The native JSON body.</param>
/// <param name="Stream">Whether the native response will be a stream.</param>
/// <param name="Query">The native query string without <c>?</c> (Gemini's <c>alt=sse</c>), or null.</param>
/// <param name="IncludeUsage">Whether the client asked for the streamed usage chunk (<c>stream_options.include_usage</c>).</param>
internal sealed record TranslatedRequest(string Path, byte[] Body, bool Stream, string? Query = null, bool IncludeUsage = false);

/// <summary>What the response translation needs to know about the original OpenAI request.</summary>
/// <param name="Model">The model name echoed in OpenAI's <c>model</c> field when the provider's answer names none.</param>
/// <param name="IncludeUsage">Whether the client asked for the streamed usage chunk (<c>stream_options.include_usage</c>).</param>
/// <param name="Created">The <c>created</c> time (Unix seconds) of the answer.</param>
internal sealed record ChatTranslationContext(string Model, bool IncludeUsage, long Created);

/// <summary>Translates one native stream into OpenAI chunks as it passes; one instance per attempt.</summary>
internal interface IChatStreamTranslator
{
    /// <summary>Consumes one upstream chunk and writes the OpenAI events it completes to <paramref name="toClient"/>.</summary>
    void Process(ReadOnlySpan<byte> nativeChunk, IBufferWriter<byte> toClient);

    /// <summary>Ends the stream: writes what the provider's end completes (finish reason, usage when asked, <c>data: [DONE]</c>); nothing when the stream was cut short.</summary>
    void Complete(IBufferWriter<byte> toClient);
}

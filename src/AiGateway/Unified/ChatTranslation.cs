using AiGateway.Providers;
using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Unified;

/// <summary>
/// The answer side of a translated unified call (an HttpContext feature): the provider's native JSON, error or event
/// stream becomes OpenAI's shape. Metering reads usage from the native response before it is translated.
/// </summary>
public sealed class ChatTranslation
{
    private readonly ProviderFormat _provider;
    private readonly bool _includeUsage;
    private readonly string _model;
    private readonly long _created;

    internal ChatTranslation(ProviderFormat provider, bool includeUsage, string model, long created)
    {
        _provider = provider;
        _includeUsage = includeUsage;
        _model = model;
        _created = created;
    }

    /// <summary>The error shape the client expects: OpenAI's for a translated call, the route's own otherwise.</summary>
    public static ProviderFormat ClientFormat(HttpContext context, ProviderFormat routeFormat) =>
        context.Features.Get<ChatTranslation>() is null ? routeFormat : ProviderFormat.OpenAi;

    /// <summary>A complete native response as an OpenAI <c>chat.completion</c>, or null when the body is not a response of the provider.</summary>
    public byte[]? TranslateResponse(byte[] body) => _provider == ProviderFormat.Anthropic
        ? AnthropicChatTranslator.TranslateResponse(body, _model, _created)
        : GeminiChatTranslator.TranslateResponse(body, _model, _created);

    /// <summary>A native error body (any status but 2xx) in OpenAI's error shape.</summary>
    public byte[] TranslateError(byte[] body, int status) => _provider == ProviderFormat.Anthropic
        ? AnthropicChatTranslator.TranslateError(body, status)
        : GeminiChatTranslator.TranslateError(body, status);

    /// <summary>A new stream translator for one attempt.</summary>
    internal ChatStreamTranslator NewStream() => _provider == ProviderFormat.Anthropic
        ? new AnthropicChatStreamTranslator(_includeUsage, _model, _created)
        : new GeminiChatStreamTranslator(_includeUsage, _model, _created);
}

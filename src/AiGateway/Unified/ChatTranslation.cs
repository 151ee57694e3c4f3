using AiGateway.Providers;

namespace AiGateway.Unified;

/// <summary>
/// The answer side of a translated unified call (an HttpContext feature): the provider's native JSON, error or event
/// stream becomes OpenAI's shape through its dialect's <see cref="IChatTranslator"/>. Metering reads usage from the
/// native response before it is translated.
/// </summary>
public sealed class ChatTranslation
{
    private readonly IChatTranslator _translator;
    private readonly ChatTranslationContext _context;

    internal ChatTranslation(IChatTranslator translator, ChatTranslationContext context)
    {
        _translator = translator;
        _context = context;
    }

    /// <summary>The error shape the client expects: OpenAI's for a translated call, the route's own otherwise.</summary>
    public static ProviderFormat ClientFormat(HttpContext context, ProviderFormat routeFormat) =>
        context.Features.Get<ChatTranslation>() is null ? routeFormat : ProviderFormat.OpenAi;

    /// <summary>A complete native response as an OpenAI <c>chat.completion</c>, or null when the body is not a response of the provider.</summary>
    public byte[]? TranslateResponse(byte[] body) => _translator.TranslateResponse(body, _context);

    /// <summary>A native error body (any status but 2xx) in OpenAI's error shape.</summary>
    public byte[] TranslateError(byte[] body, int status) => _translator.TranslateError(body, status);

    /// <summary>A new stream translator for one attempt.</summary>
    internal IChatStreamTranslator NewStream() => _translator.CreateStreamTranslator(_context);
}

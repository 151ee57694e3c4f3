using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers.Gemini;

/// <summary>The Gemini generateContent wire format (the model is in the path; streams are SSE or one JSON array).</summary>
internal sealed class GeminiDialect : IProviderDialect
{
    /// <summary>The single instance (dialects hold no state).</summary>
    public static readonly GeminiDialect Instance = new();

    private static readonly Operation[] OwnOperations = [Operation.GeminiGenerateContent, Operation.GeminiStreamGenerateContent];

    private GeminiDialect()
    {
    }

    /// <inheritdoc />
    public ProviderFormat Format => ProviderFormat.Gemini;

    /// <inheritdoc />
    public IReadOnlyList<Operation> Operations => OwnOperations;

    /// <inheritdoc />
    public ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body) => GeminiRequestParser.Parse(path, isPost, body);

    /// <summary>No local tokenizer knows Gemini's vocabulary; the estimate uses the prompt text.</summary>
    public long? CountInputTokensExactly(ParsedRequest request) => null;

    /// <inheritdoc />
    public void CollectPromptText(ParsedRequest request, PromptTextBuilder text) => GeminiPromptText.Collect(request.Root, text);

    /// <inheritdoc />
    public CallUsage? ReadUsage(Operation operation, JsonElement root) => GeminiUsage.FromResponse(root);

    /// <inheritdoc />
    public Func<JsonElement, CallUsage>? TopLevelUsageReader(Operation operation) => null;

    /// <summary>The tracker detects the framing itself (SSE with <c>alt=sse</c>, one JSON array without).</summary>
    public StreamUsageTracker CreateStreamTracker(Operation operation, bool hideUsageChunk) =>
        operation is Operation.GeminiGenerateContent or Operation.GeminiStreamGenerateContent
            ? new GeminiStreamTracker()
            : new StreamUsageTracker.None();

    /// <inheritdoc />
    public bool HasOutputLimit(Operation operation) =>
        operation is Operation.GeminiGenerateContent or Operation.GeminiStreamGenerateContent;

    /// <summary>Gemini streams always report usage; nothing to ask for.</summary>
    public bool AddStreamUsage(ParsedRequest request, PropertyOverrides overrides) => false;

    /// <inheritdoc />
    public bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides) =>
        GeminiRequestRewriter.AddMaxOutputTokens(request, max, overrides);

    /// <summary>The Gemini SDK sends <c>x-goog-api-key</c> (or the <c>key</c> query parameter, always removed upstream).</summary>
    public IReadOnlyList<string> KeyHeaders { get; } = ["x-goog-api-key"];

    /// <inheritdoc />
    public string? ReadClientKey(HttpRequest request) =>
        ProviderCredentials.FirstNonEmpty(request.Headers["x-goog-api-key"]) ?? ProviderCredentials.FirstNonEmpty(request.Query["key"])
        ?? ProviderCredentials.Bearer(request.Headers.Authorization);

    /// <inheritdoc />
    public void ApplyProviderKey(HttpRequestMessage proxyRequest, string providerKey) =>
        proxyRequest.Headers.TryAddWithoutValidation("x-goog-api-key", providerKey);

    /// <summary>{"error":{"code":401,"message":"...","status":"UNAUTHENTICATED"}}</summary>
    public void WriteError(Utf8JsonWriter w, GatewayError error)
    {
        w.WriteStartObject("error");
        w.WriteNumber("code", error.StatusCode);
        w.WriteString("message", error.Message);
        w.WriteString("status", ErrorStatus(error.Kind));
        w.WriteEndObject();
    }

    /// <summary>Gemini streams carry the plain error object as data.</summary>
    public ReadOnlySpan<byte> StreamErrorEvent => default;

    /// <summary>OpenAI chat ⇄ generateContent, for the unified endpoint.</summary>
    public IChatTranslator? ChatTranslator => GeminiChatTranslator.Instance;

    private static string ErrorStatus(GatewayErrorKind kind) => kind switch
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

using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers.Anthropic;

/// <summary>The Anthropic Messages wire format.</summary>
internal sealed class AnthropicDialect : IProviderDialect
{
    /// <summary>The single instance (dialects hold no state).</summary>
    public static readonly AnthropicDialect Instance = new();

    private static readonly Operation[] OwnOperations = [Operation.AnthropicMessages];

    private AnthropicDialect()
    {
    }

    /// <inheritdoc />
    public ProviderFormat Format => ProviderFormat.Anthropic;

    /// <inheritdoc />
    public IReadOnlyList<Operation> Operations => OwnOperations;

    /// <inheritdoc />
    public ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body) => AnthropicRequestParser.Parse(path, isPost, body);

    /// <summary>No local tokenizer knows Claude's vocabulary; the estimate uses the prompt text.</summary>
    public long? CountInputTokensExactly(ParsedRequest request) => null;

    /// <inheritdoc />
    public void CollectPromptText(ParsedRequest request, PromptTextBuilder text) => AnthropicPromptText.Collect(request.Root, text);

    /// <inheritdoc />
    public CallUsage? ReadUsage(Operation operation, JsonElement root) => AnthropicUsage.FromResponse(root);

    /// <inheritdoc />
    public Func<JsonElement, CallUsage>? TopLevelUsageReader(Operation operation) => null;

    /// <inheritdoc />
    public StreamUsageTracker CreateStreamTracker(Operation operation, bool hideUsageChunk) =>
        operation == Operation.AnthropicMessages ? new AnthropicStreamTracker() : new StreamUsageTracker.None();

    /// <inheritdoc />
    public bool HasOutputLimit(Operation operation) => operation == Operation.AnthropicMessages;

    /// <summary>Anthropic streams always report usage; nothing to ask for.</summary>
    public bool AddStreamUsage(ParsedRequest request, PropertyOverrides overrides) => false;

    /// <inheritdoc />
    public bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides) =>
        AnthropicRequestRewriter.AddMaxOutputTokens(request, max, overrides);

    /// <summary>The Anthropic SDK sends <c>x-api-key</c>.</summary>
    public IReadOnlyList<string> KeyHeaders { get; } = ["x-api-key"];

    /// <inheritdoc />
    public string? ReadClientKey(HttpRequest request) =>
        ProviderCredentials.FirstNonEmpty(request.Headers["x-api-key"]) ?? ProviderCredentials.Bearer(request.Headers.Authorization);

    /// <inheritdoc />
    public void ApplyProviderKey(HttpRequestMessage proxyRequest, string providerKey) =>
        proxyRequest.Headers.TryAddWithoutValidation("x-api-key", providerKey);

    /// <summary>{"type":"error","error":{"type":"authentication_error","message":"..."}}</summary>
    public void WriteError(Utf8JsonWriter w, GatewayError error)
    {
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", ErrorType(error.Kind));
        w.WriteString("message", error.Message);
        w.WriteEndObject();
    }

    /// <summary>Anthropic names the event <c>event: error</c>.</summary>
    public ReadOnlySpan<byte> StreamErrorEvent => "error"u8;

    /// <summary>OpenAI chat ⇄ Messages, for the unified endpoint.</summary>
    public IChatTranslator? ChatTranslator => AnthropicChatTranslator.Instance;

    private static string ErrorType(GatewayErrorKind kind) => kind switch
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
}

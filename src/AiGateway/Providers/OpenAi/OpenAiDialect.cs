using System.Net.Http.Headers;
using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Tokenizers;

namespace AiGateway.Providers.OpenAi;

/// <summary>The OpenAI wire format, also spoken by OpenAI-compatible servers (DeepSeek, Kimi, Qwen, vLLM…).</summary>
internal sealed class OpenAiDialect : IProviderDialect
{
    /// <summary>The single instance (dialects hold no state).</summary>
    public static readonly OpenAiDialect Instance = new();

    private static readonly Operation[] OwnOperations =
    [
        Operation.OpenAiChatCompletions, Operation.OpenAiCompletions, Operation.OpenAiResponses, Operation.OpenAiEmbeddings,
        Operation.OpenAiImageGenerations, Operation.OpenAiImageEdits, Operation.OpenAiVideos,
    ];

    private OpenAiDialect()
    {
    }

    /// <inheritdoc />
    public ProviderFormat Format => ProviderFormat.OpenAi;

    /// <inheritdoc />
    public IReadOnlyList<Operation> Operations => OwnOperations;

    /// <inheritdoc />
    public ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body) => OpenAiRequestParser.Parse(path, isPost, body);

    /// <summary>OpenAI's own models are counted exactly, with chat framing, by the tokenizer library.</summary>
    public long? CountInputTokensExactly(ParsedRequest request) => request.Operation switch
    {
        Operation.OpenAiChatCompletions => ChatTokenCounter.CountChatCompletion(request.Root, request.Model),
        Operation.OpenAiResponses => ChatTokenCounter.CountResponses(request.Root, request.Model),
        Operation.OpenAiEmbeddings or Operation.OpenAiCompletions => ChatTokenCounter.CountPlainRequest(request.Root, request.Model),
        _ => null,
    };

    /// <inheritdoc />
    public void CollectPromptText(ParsedRequest request, PromptTextBuilder text) => OpenAiPromptText.Collect(request.Operation, request.Root, text);

    /// <inheritdoc />
    public CallUsage? ReadUsage(Operation operation, JsonElement root) => OpenAiUsage.FromResponse(operation, root);

    /// <inheritdoc />
    public Func<JsonElement, CallUsage>? TopLevelUsageReader(Operation operation) => OpenAiUsage.TopLevelUsageReader(operation);

    /// <inheritdoc />
    public StreamUsageTracker CreateStreamTracker(Operation operation, bool hideUsageChunk) => operation switch
    {
        Operation.OpenAiChatCompletions or Operation.OpenAiCompletions => new OpenAiChatStreamTracker(hideUsageChunk),
        Operation.OpenAiResponses => new OpenAiResponsesStreamTracker(),
        Operation.OpenAiImageGenerations or Operation.OpenAiImageEdits => new OpenAiImageStreamTracker(),
        _ => new StreamUsageTracker.None(),
    };

    /// <inheritdoc />
    public bool HasOutputLimit(Operation operation) =>
        operation is Operation.OpenAiChatCompletions or Operation.OpenAiCompletions or Operation.OpenAiResponses;

    /// <inheritdoc />
    public bool AddStreamUsage(ParsedRequest request, PropertyOverrides overrides) => OpenAiRequestRewriter.AddStreamUsage(request, overrides);

    /// <inheritdoc />
    public bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides) =>
        OpenAiRequestRewriter.AddMaxOutputTokens(request, max, overrides);

    /// <summary>Azure-style SDKs send <c>api-key</c>.</summary>
    public IReadOnlyList<string> KeyHeaders { get; } = ["api-key"];

    /// <inheritdoc />
    public string? ReadClientKey(HttpRequest request) =>
        ProviderCredentials.Bearer(request.Headers.Authorization) ?? ProviderCredentials.FirstNonEmpty(request.Headers["api-key"]);

    /// <inheritdoc />
    public void ApplyProviderKey(HttpRequestMessage proxyRequest, string providerKey) =>
        proxyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", providerKey);

    /// <summary>{"error":{"message":"...","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}</summary>
    public void WriteError(Utf8JsonWriter w, GatewayError error)
    {
        w.WriteStartObject("error");
        w.WriteString("message", error.Message);
        w.WriteString("type", ErrorType(error.Kind));
        if (error.Param is null) w.WriteNull("param"); else w.WriteString("param", error.Param);
        if (error.Code is null) w.WriteNull("code"); else w.WriteString("code", error.Code);
        w.WriteEndObject();
    }

    /// <summary>OpenAI streams carry the plain error object as data.</summary>
    public ReadOnlySpan<byte> StreamErrorEvent => default;

    /// <summary>The OpenAI shape needs no translation; the unified endpoint forwards it as it is.</summary>
    public IChatTranslator? ChatTranslator => null;

    private static string ErrorType(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.Unauthorized => "invalid_request_error",
        GatewayErrorKind.InsufficientCredits => "insufficient_quota",
        GatewayErrorKind.RateLimited => "rate_limit_exceeded",
        GatewayErrorKind.Unavailable or GatewayErrorKind.BadGateway or GatewayErrorKind.GatewayTimeout => "server_error",
        _ => "invalid_request_error",
    };
}

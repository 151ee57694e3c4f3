using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers;

/// <summary>
/// Everything that differs between wire formats, in one place per provider (<c>OpenAi/</c>, <c>Anthropic/</c>,
/// <c>Gemini/</c>). Dialects are stateless singletons registered in <see cref="ProviderDialects"/>; the central
/// pipeline classes (<see cref="ProviderRequestParser"/>, <see cref="PromptText"/>, <see cref="ProviderRequestRewriter"/>,
/// <see cref="UsageReader"/>, <see cref="StreamObserver"/>, <see cref="ProviderCredentials"/>,
/// <see cref="ProviderErrorWriter"/>) only resolve the dialect and delegate to it.
/// </summary>
internal interface IProviderDialect
{
    /// <summary>The wire format this dialect speaks (its key in <see cref="ProviderDialects"/>).</summary>
    ProviderFormat Format { get; }

    /// <summary>The metered operations this dialect's parser produces; each operation belongs to exactly one dialect.</summary>
    IReadOnlyList<Operation> Operations { get; }

    /// <summary>
    /// Parses a request whose <paramref name="path"/> has had the route prefix, percent-encoding and surrounding
    /// slashes removed; throws <see cref="InvalidRequestException"/> for a body metering cannot rely on.
    /// </summary>
    ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body);

    /// <summary>The input tokens of the request counted exactly by a local tokenizer, or null when this dialect has none for it.</summary>
    long? CountInputTokensExactly(ParsedRequest request);

    /// <summary>Adds the request's prompt text (for approximate counting) to <paramref name="text"/>; the request has a JSON body.</summary>
    void CollectPromptText(ParsedRequest request, PromptTextBuilder text);

    /// <summary>Reads the usage of a complete response (throws <see cref="UnreadableUsageException"/> for an unreadable count).</summary>
    CallUsage? ReadUsage(Operation operation, JsonElement root);

    /// <summary>
    /// When an operation's whole usage report is the answer's top-level <c>usage</c> object, the reader of that object
    /// (what <see cref="ReadUsage"/> applies to it), so <see cref="UsageReader"/> can parse only that object; else null.
    /// </summary>
    Func<JsonElement, CallUsage>? TopLevelUsageReader(Operation operation);

    /// <summary>A new tracker for one streamed attempt of <paramref name="operation"/> (SSE, or another framing the tracker detects).</summary>
    StreamUsageTracker CreateStreamTracker(Operation operation, bool hideUsageChunk);

    /// <summary>Whether the operation has an output-token limit the gateway can write into the request (see <see cref="AddMaxOutputTokens"/>).</summary>
    bool HasOutputLimit(Operation operation);

    /// <summary>Adds the override that asks a stream for usage the client did not request; true when the gateway asked (the usage chunk is then withheld).</summary>
    bool AddStreamUsage(ParsedRequest request, PropertyOverrides overrides);

    /// <summary>Adds the overrides that set the output-token limit to <paramref name="max"/>; false when the operation has no limit.</summary>
    bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides);

    /// <summary>Request headers this format's SDK may carry a key in (besides <c>Authorization</c>, always removed upstream).</summary>
    IReadOnlyList<string> KeyHeaders { get; }

    /// <summary>The gateway key a client presented in this SDK's native place, or null.</summary>
    string? ReadClientKey(HttpRequest request);

    /// <summary>Puts the provider's real key where its API expects it (after the client's keys were removed).</summary>
    void ApplyProviderKey(HttpRequestMessage proxyRequest, string providerKey);

    /// <summary>Writes the members of the error body's top-level object in the shape this provider's SDK expects.</summary>
    void WriteError(Utf8JsonWriter writer, GatewayError error);

    /// <summary>The SSE event name of an error written into a started stream; empty for a plain <c>data:</c> event.</summary>
    ReadOnlySpan<byte> StreamErrorEvent { get; }

    /// <summary>The translation to and from the OpenAI chat shape (the unified endpoint), or null when the format has none.</summary>
    IChatTranslator? ChatTranslator { get; }
}

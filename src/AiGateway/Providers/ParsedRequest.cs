using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>
/// What the gateway needs to know about one provider request before forwarding it.
/// Owns the parsed <see cref="JsonDocument"/>, so dispose it when the call is done.
/// </summary>
public sealed class ParsedRequest : IDisposable
{
    private readonly JsonDocument? _document;
    private bool _disposed;

    internal ParsedRequest(ProviderFormat format, Operation operation, string path, ReadOnlyMemory<byte> body, JsonDocument? document)
    {
        Format = format;
        Dialect = ProviderDialects.For(format);
        Operation = operation;
        Path = path;
        Body = body;
        _document = document;
    }

    /// <summary>The wire format the client speaks.</summary>
    public ProviderFormat Format { get; }

    /// <summary>The dialect of <see cref="Format"/>, resolved once when the request is parsed.</summary>
    internal IProviderDialect Dialect { get; }

    /// <summary>The metered operation, or <see cref="Operation.Unmetered"/>.</summary>
    public Operation Operation { get; }

    /// <summary>The request path after the route prefix, as given to the parser.</summary>
    public string Path { get; }

    /// <summary>The original request body bytes (not copied; the caller keeps them alive).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The model named by the body (OpenAI, Anthropic) or the path (Gemini); null only for unmetered requests.</summary>
    public string? Model { get; internal init; }

    /// <summary>Whether the response will be a stream (body <c>stream: true</c> or Gemini <c>:streamGenerateContent</c>).</summary>
    public bool Stream { get; internal init; }

    /// <summary>The output-token limit the client asked for, if any.</summary>
    public int? MaxOutputTokens { get; internal init; }

    /// <summary>How many choices, candidates or images the client asked for (OpenAI <c>n</c>, Gemini <c>candidateCount</c>); 1 by default.</summary>
    public int N { get; internal init; } = 1;

    /// <summary>The requested image size (images only), e.g. <c>1024x1024</c>.</summary>
    public string? ImageSize { get; internal init; }

    /// <summary>The requested image quality (images only), e.g. <c>high</c>.</summary>
    public string? ImageQuality { get; internal init; }

    /// <summary>The requested video length in seconds (videos only).</summary>
    public int? VideoSeconds { get; internal init; }

    /// <summary>Whether the body was <c>multipart/form-data</c> (then <see cref="HasJsonBody"/> is false).</summary>
    public bool IsMultipart { get; internal init; }

    /// <summary>Whether <see cref="Root"/> holds a parsed JSON body.</summary>
    public bool HasJsonBody => _document is not null;

    /// <summary>Whether the call is metered (anything but <see cref="Operation.Unmetered"/>).</summary>
    public bool IsMetered => Operation != Operation.Unmetered;

    /// <summary>The parsed JSON body; <c>default</c> (ValueKind Undefined) when there is none.</summary>
    public JsonElement Root
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _document?.RootElement ?? default;
        }
    }

    /// <summary>Returns the pooled memory of the parsed JSON document.</summary>
    public void Dispose()
    {
        _disposed = true;
        _document?.Dispose();
    }
}

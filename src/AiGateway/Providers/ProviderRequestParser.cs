using System.Text.Json;
using System.Text.Unicode;

namespace AiGateway.Providers;

/// <summary>Turns a raw provider request into a <see cref="ParsedRequest"/> or a 400 <see cref="GatewayError"/>.</summary>
public static class ProviderRequestParser
{
    /// <summary>Nesting deeper than this is refused; real requests stay far below it and it keeps hostile bodies cheap.</summary>
    public const int MaxJsonDepth = 64;

    internal static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = MaxJsonDepth,
        // Two "model" keys would let the gateway price one model while the provider runs another.
        AllowDuplicateProperties = false,
    };

    /// <summary>
    /// Parses a request. <paramref name="path"/> is the part after the route prefix (e.g. <c>v1/chat/completions</c>);
    /// <paramref name="method"/> null means POST; any other method is unmetered. <paramref name="query"/> does not change
    /// metering today (Gemini's <c>alt=sse</c> only changes framing, which <see cref="StreamObserver"/> detects itself).
    /// </summary>
    public static RequestParseResult Parse(ProviderFormat format, string path, string? query, ReadOnlyMemory<byte> body, string? method = null) =>
        Parse(ProviderDialects.For(format), path, body, method);

    /// <summary>Parses a request in <paramref name="dialect"/>'s wire format (see the other overload).</summary>
    internal static RequestParseResult Parse(IProviderDialect dialect, string path, ReadOnlyMemory<byte> body, string? method = null)
    {
        var normalized = NormalizePath(path);
        var isPost = method is null || HttpMethods.IsPost(method);
        try
        {
            return RequestParseResult.Ok(dialect.Parse(normalized, isPost, body));
        }
        catch (InvalidRequestException e)
        {
            return RequestParseResult.Fail(new GatewayError(GatewayErrorKind.BadRequest, e.Message, "invalid_request", e.Param));
        }
    }

    /// <summary>Parses a body that must be a JSON object; the caller owns the returned document.</summary>
    internal static JsonDocument ParseJsonObject(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty) throw new InvalidRequestException("The request body is empty; expected a JSON object.");
        // JsonDocument only notices invalid UTF-8 when a string is read later, which would throw far from here.
        if (!Utf8.IsValid(body.Span)) throw new InvalidRequestException("The request body is not valid UTF-8.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException e)
        {
            // The reader's message names the line and byte position, which helps the caller find the problem.
            throw new InvalidRequestException($"The request body is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // The duplicate-property check unescapes names and throws this (not JsonException) on a lone surrogate escape.
            throw new InvalidRequestException($"The request body contains an invalid string escape: {e.Message}");
        }
        try
        {
            JsonStringCheck.RequireDecodableStrings(body);
        }
        catch
        {
            document.Dispose();
            throw;
        }
        var kind = document.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            document.Dispose();
            RequestFields.RequireObject(kind);
        }
        return document;
    }

    /// <summary>Runs a parse step that may throw, disposing the document if it does.</summary>
    internal static ParsedRequest Build(JsonDocument document, Func<JsonDocument, ParsedRequest> build)
    {
        try
        {
            return build(document);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    private static string NormalizePath(string path)
    {
        // Gemini SDKs may percent-encode the ':' before the method name.
        var p = path.Contains('%') ? Uri.UnescapeDataString(path) : path;
        return p.Trim('/');
    }
}

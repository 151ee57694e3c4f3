using System.Text.Json;
using System.Text.Unicode;
using AiGateway.Metering;

namespace AiGateway.Providers;

/// <summary>Reads what a call consumed from a complete (non-streamed) provider response body.</summary>
public static class UsageReader
{
    /// <summary>Returns the usage in <paramref name="body"/>, or null when the body reports none, an unreadable one, or is not JSON.</summary>
    public static CallUsage? FromJson(Operation operation, ReadOnlySpan<byte> body) =>
        FromJson(ProviderDialects.For(operation), operation, body);

    /// <summary>Returns the usage of <paramref name="request"/>'s response <paramref name="body"/> (see the other overload).</summary>
    internal static CallUsage? FromJson(ParsedRequest request, ReadOnlySpan<byte> body) =>
        FromJson(request.IsMetered ? request.Dialect : null, request.Operation, body);

    private static CallUsage? FromJson(IProviderDialect? dialect, Operation operation, ReadOnlySpan<byte> body)
    {
        if (dialect is null || operation == Operation.Unmetered || body.IsEmpty || !Utf8.IsValid(body)) return null;
        if (dialect.TopLevelUsageReader(operation) is { } read)
        {
            try
            {
                if (TryReadTopLevelUsage(body, read, out var usage)) return usage;
            }
            catch (UnreadableUsageException)
            {
                return null;
            }
        }
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, JsonFastRead.Options);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            try
            {
                return dialect.ReadUsage(operation, root);
            }
            catch (UnreadableUsageException)
            {
                // An unreadable report is no report: the caller charges the counted tokens (usage source "estimated").
                return null;
            }
        }
    }

    /// <summary>
    /// The fast path for answers whose report is one top-level <c>usage</c> object (OpenAI chat, completions,
    /// embeddings, Responses): one pass of <see cref="Utf8JsonReader"/> over the body — which still checks that the
    /// whole answer is well-formed JSON, as the document read does — with a document built for the usage object only,
    /// instead of for the whole answer. Returns false when the document read must decide: the root is not an object,
    /// <c>usage</c> appears twice (the document read takes the last), or the JSON is malformed.
    /// </summary>
    private static bool TryReadTopLevelUsage(ReadOnlySpan<byte> body, Func<JsonElement, CallUsage> read, out CallUsage? usage)
    {
        usage = null;
        JsonDocument? report = null;
        try
        {
            var reader = new Utf8JsonReader(body, JsonFastRead.Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            var seen = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("usage"u8))
                {
                    reader.Skip();
                    continue;
                }
                if (seen) return false;
                seen = true;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject) report = JsonDocument.ParseValue(ref reader);
                else reader.Skip();
            }
            if (report is not null) usage = read(report.RootElement);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            report?.Dispose();
        }
    }
}

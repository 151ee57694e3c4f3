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
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
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
}

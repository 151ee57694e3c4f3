using System.Buffers;
using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>
/// Refuses JSON whose escaped strings do not decode, e.g. a lone <c>\ud800</c>: the JSON grammar allows it, but every
/// later <c>GetString</c> (prompt text for the estimate, field reads) would throw far from the parser and end as a 500.
/// </summary>
internal static class JsonStringCheck
{
    /// <summary>Throws <see cref="InvalidRequestException"/> when an escaped string or property name does not decode to valid UTF-16.</summary>
    public static void RequireDecodableStrings(ReadOnlyMemory<byte> json)
    {
        // Unescaped strings were already checked by Utf8.IsValid; only \u escapes can smuggle in a lone surrogate.
        if (json.Span.IndexOf("\\u"u8) < 0) return;
        var reader = new Utf8JsonReader(json.Span, new JsonReaderOptions { MaxDepth = ProviderRequestParser.MaxJsonDepth });
        byte[]? buffer = null;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
                var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
                if (buffer is null || buffer.Length < length)
                {
                    if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(length);
                }
                try
                {
                    reader.CopyString(buffer);
                }
                catch (InvalidOperationException e)
                {
                    throw new InvalidRequestException($"The request body contains an invalid string escape: {e.Message}");
                }
            }
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>
/// What the one-pass <see cref="Utf8JsonReader"/> fast paths of the usage reader and the stream trackers share; each
/// stays checked against the <see cref="JsonDocument"/> read it shortcuts (see this folder's README).
/// </summary>
internal static class JsonFastRead
{
    /// <summary>The reader options of every usage read, fast or not: the depth a document read allows.</summary>
    public static readonly JsonReaderOptions Options = new() { MaxDepth = 256 };

    /// <summary>The property's value (the reader on its name) if it is a string, else null (the value is skipped).</summary>
    public static string? StringOrSkip(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String) return reader.GetString();
        reader.Skip();
        return null;
    }
}

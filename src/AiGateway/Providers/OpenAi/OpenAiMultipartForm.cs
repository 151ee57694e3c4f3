using System.Text;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// Reads the small text fields (model, n, size…) of a <c>multipart/form-data</c> body such as an image edit.
/// The parser does not see the Content-Type header, so the boundary is taken from the body's first line.
/// </summary>
internal static class OpenAiMultipartForm
{
    /// <summary>Fields longer than this are not small settings and are skipped (prompts, files).</summary>
    private const int MaxFieldBytes = 256;

    /// <summary>Whether the body looks like multipart form data (starts with <c>--boundary</c> and a line break).</summary>
    public static bool LooksLikeMultipart(ReadOnlySpan<byte> body) =>
        body.Length > 4 && body[0] == (byte)'-' && body[1] == (byte)'-' && body.IndexOf("\r\n"u8) > 2;

    /// <summary>Returns the short text fields whose names are in <paramref name="wanted"/>; file parts are skipped.</summary>
    public static Dictionary<string, string> ReadFields(ReadOnlySpan<byte> body, IReadOnlySet<string> wanted)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var firstLineEnd = body.IndexOf("\r\n"u8);
        if (firstLineEnd < 3) return fields;
        // Every later delimiter is CRLF + the first line ("--boundary").
        var delimiter = new byte[firstLineEnd + 2];
        "\r\n"u8.CopyTo(delimiter);
        body[..firstLineEnd].CopyTo(delimiter.AsSpan(2));

        var rest = body[(firstLineEnd + 2)..];
        while (true)
        {
            var end = rest.IndexOf(delimiter);
            if (end < 0) break; // truncated body: the upstream will reject it; we keep what we read
            ReadPart(rest[..end], wanted, fields);
            rest = rest[(end + delimiter.Length)..];
            if (rest.StartsWith("--"u8)) break; // closing delimiter
            var lineEnd = rest.IndexOf("\r\n"u8);
            if (lineEnd < 0) break;
            rest = rest[(lineEnd + 2)..];
        }
        return fields;
    }

    private static void ReadPart(ReadOnlySpan<byte> part, IReadOnlySet<string> wanted, Dictionary<string, string> fields)
    {
        var headerEnd = part.IndexOf("\r\n\r\n"u8);
        if (headerEnd < 0) return;
        var headers = Encoding.UTF8.GetString(part[..headerEnd]);
        var content = part[(headerEnd + 4)..];
        string? name = null;
        foreach (var line in headers.Split("\r\n"))
        {
            if (!line.StartsWith("Content-Disposition:", StringComparison.OrdinalIgnoreCase)) continue;
            if (line.Contains("filename=", StringComparison.OrdinalIgnoreCase)) return;
            name = ParameterValue(line, "name");
        }
        if (name is null || !wanted.Contains(name) || content.Length > MaxFieldBytes) return;
        fields[name] = Encoding.UTF8.GetString(content).Trim();
    }

    private static string? ParameterValue(string header, string parameter)
    {
        foreach (var piece in header.Split(';'))
        {
            var kv = piece.Trim();
            if (!kv.StartsWith(parameter + "=", StringComparison.OrdinalIgnoreCase)) continue;
            return kv[(parameter.Length + 1)..].Trim('"');
        }
        return null;
    }
}

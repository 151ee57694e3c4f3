using System.Buffers;

namespace AiGateway.Providers.Sse;

/// <summary>Writes server-sent events, e.g. for an error the gateway itself must report in the middle of a stream.</summary>
public static class SseWriter
{
    /// <summary>Writes one event: an optional <c>event:</c> line, one <c>data:</c> line per line of <paramref name="data"/>, and the blank line.</summary>
    public static void WriteEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        if (!eventType.IsEmpty)
        {
            output.Write("event: "u8);
            output.Write(eventType);
            output.Write("\n"u8);
        }
        // A raw line break inside data would end the field early; SSE carries multi-line data as several data lines.
        while (true)
        {
            var eol = data.IndexOfAny((byte)'\r', (byte)'\n');
            output.Write("data: "u8);
            output.Write(eol < 0 ? data : data[..eol]);
            output.Write("\n"u8);
            if (eol < 0) break;
            var skip = data[eol] == (byte)'\r' && eol + 1 < data.Length && data[eol + 1] == (byte)'\n' ? 2 : 1;
            data = data[(eol + skip)..];
        }
        output.Write("\n"u8);
    }
}

using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace AiGateway.Providers.Gemini;

/// <summary>
/// Splits Gemini's default (non-<c>alt=sse</c>) stream framing — one JSON array delivered incrementally — into its
/// top-level elements, tracking strings and nesting so a chunk may end anywhere.
/// </summary>
internal sealed class GeminiJsonArrayStream(GeminiStreamTracker tracker, int maxElementBytes) : IStreamFraming
{
    private readonly ArrayBufferWriter<byte> _element = new();
    private int _depth; // 0 = outside the array, 1 = between elements, >1 = inside an element
    private bool _inString;
    private bool _escaped;
    private bool _oversized;

    /// <summary>Consumes a chunk, handing every completed element to the tracker.</summary>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        var start = _depth > 1 ? 0 : -1;
        for (var i = 0; i < chunk.Length; i++)
        {
            var b = chunk[i];
            if (_inString)
            {
                if (_escaped) _escaped = false;
                else if (b == (byte)'\\') _escaped = true;
                else if (b == (byte)'"') _inString = false;
                continue;
            }
            switch (b)
            {
                case (byte)'"':
                    _inString = true;
                    break;
                case (byte)'{' or (byte)'[':
                    if (_depth == 1) start = i;
                    _depth++;
                    break;
                case (byte)'}' or (byte)']':
                    _depth = Math.Max(0, _depth - 1);
                    if (_depth == 1 && start >= 0)
                    {
                        Append(chunk[start..(i + 1)]);
                        Emit();
                        start = -1;
                    }
                    break;
            }
        }
        if (start >= 0 && _depth > 1) Append(chunk[start..]);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_oversized) return;
        if (_element.WrittenCount + bytes.Length > maxElementBytes)
        {
            _oversized = true;
            _element.ResetWrittenCount();
            return;
        }
        _element.Write(bytes);
    }

    private void Emit()
    {
        if (!_oversized && Utf8.IsValid(_element.WrittenSpan))
        {
            try
            {
                using var document = JsonDocument.Parse(_element.WrittenMemory);
                tracker.OnChunk(document.RootElement);
            }
            catch (JsonException)
            {
                // Malformed elements pass through to the client; they just carry no usage.
            }
        }
        _oversized = false;
        _element.ResetWrittenCount();
    }
}

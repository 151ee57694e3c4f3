using System.Buffers;

namespace AiGateway.Providers.Sse;

/// <summary>
/// An incremental server-sent-events parser (WHATWG rules) that is fed arbitrary chunks and reports each
/// blank-line-terminated block. Only ASCII CR/LF split lines, so a chunk boundary inside a multi-byte UTF-8
/// character is harmless; a CR at the end of a chunk waits for the next byte to know whether an LF follows.
/// </summary>
public sealed class SseReader
{
    /// <summary>The default cap on one event's size; large enough for streamed base64 image events.</summary>
    public const int DefaultMaxEventBytes = 16 * 1024 * 1024;

    private const int MaxEventTypeBytes = 256;
    private const int LargeBufferBytes = 1024 * 1024;

    private readonly int _maxEventBytes;
    private ArrayBufferWriter<byte> _line = new();
    private ArrayBufferWriter<byte> _data = new();
    private readonly ArrayBufferWriter<byte> _eventType = new();
    private bool _hasData;
    private bool _oversized;
    private bool _discardingLine;
    private bool _afterCr;
    private bool _blockEndsAfterCr;
    private bool _blockReady;
    private bool _atStreamStart = true;

    /// <summary>Creates a reader that refuses to buffer more than <paramref name="maxEventBytes"/> for one event.</summary>
    public SseReader(int maxEventBytes = DefaultMaxEventBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventBytes, 16);
        _maxEventBytes = maxEventBytes;
    }

    /// <summary>The <c>event:</c> name of the last completed block (empty when none was given).</summary>
    public ReadOnlySpan<byte> EventType => _eventType.WrittenSpan;

    /// <summary>The <c>data:</c> lines of the last completed block, joined with LF.</summary>
    public ReadOnlySpan<byte> Data => _data.WrittenSpan;

    /// <summary>Whether the last completed block carries an event to dispatch (at least one <c>data</c> line, within the size cap).</summary>
    public bool HasEvent => _hasData && !_oversized;

    /// <summary>Whether the last completed block exceeded the size cap, so its fields were dropped.</summary>
    public bool WasOversized => _oversized;

    /// <summary>
    /// Consumes <paramref name="input"/> up to and including the next block boundary (a blank line).
    /// Returns true when a block completed (read it before the next call); <paramref name="consumed"/> may then be 0
    /// if the block ended with a CR at the end of the previous chunk. Returns false when all input was consumed mid-block.
    /// </summary>
    public bool Advance(ReadOnlySpan<byte> input, out int consumed)
    {
        if (_blockReady) ResetBlock();
        var i = 0;
        if (_blockEndsAfterCr && !input.IsEmpty)
        {
            _blockEndsAfterCr = false;
            if (input[0] == (byte)'\n') i = 1;
            consumed = i;
            _blockReady = true;
            return true;
        }

        while (i < input.Length)
        {
            if (_afterCr)
            {
                _afterCr = false;
                if (input[i] == (byte)'\n')
                {
                    i++;
                    continue;
                }
            }

            var rest = input[i..];
            var eol = rest.IndexOfAny((byte)'\r', (byte)'\n');
            if (eol < 0)
            {
                AppendToLine(rest);
                i = input.Length;
                break;
            }

            var endsWithCr = rest[eol] == (byte)'\r';
            i += eol + 1;
            var lineWasTooLong = _discardingLine;
            ReadOnlySpan<byte> line;
            if (_line.WrittenCount == 0 && !lineWasTooLong)
            {
                line = rest[..eol];
                if (line.Length > _maxEventBytes)
                {
                    lineWasTooLong = true;
                    _oversized = true;
                }
            }
            else
            {
                AppendToLine(rest[..eol]);
                lineWasTooLong = _discardingLine;
                line = _line.WrittenSpan;
            }

            var isBlank = line.IsEmpty && !lineWasTooLong;
            if (!isBlank && !lineWasTooLong) ProcessLine(line);
            _line.ResetWrittenCount();
            _discardingLine = false;
            _atStreamStart = false;
            if (!isBlank)
            {
                _afterCr = endsWithCr;
                continue;
            }

            if (endsWithCr)
            {
                if (i == input.Length)
                {
                    // Whether an LF follows decides which bytes belong to this block; wait for the next chunk.
                    _blockEndsAfterCr = true;
                    consumed = i;
                    return false;
                }
                if (input[i] == (byte)'\n') i++;
            }
            consumed = i;
            _blockReady = true;
            return true;
        }

        consumed = i;
        return false;
    }

    /// <summary>
    /// Ends the stream. Returns true when a final event is available: one whose closing CR was the last byte, or,
    /// leniently, an unterminated last block (some servers omit the final blank line; its usage still counts).
    /// </summary>
    public bool Finish()
    {
        if (_blockReady) ResetBlock();
        if (_blockEndsAfterCr)
        {
            _blockEndsAfterCr = false;
        }
        else
        {
            if (_line.WrittenCount > 0 && !_discardingLine) ProcessLine(_line.WrittenSpan);
            _line.ResetWrittenCount();
            _discardingLine = false;
        }
        _blockReady = true;
        return HasEvent;
    }

    private void AppendToLine(ReadOnlySpan<byte> bytes)
    {
        if (_discardingLine) return;
        if (_line.WrittenCount + bytes.Length > _maxEventBytes)
        {
            // An endless line must not eat memory: drop it and the event it belongs to.
            _discardingLine = true;
            _oversized = true;
            _line.ResetWrittenCount();
            return;
        }
        _line.Write(bytes);
    }

    private void ProcessLine(ReadOnlySpan<byte> line)
    {
        if (_atStreamStart && line.StartsWith("\uFEFF"u8)) line = line[3..];
        if (line.IsEmpty || line[0] == (byte)':') return; // comment (keep-alive)

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ') value = value[1..];

        if (field.SequenceEqual("data"u8))
        {
            if (_oversized) return;
            if (_data.WrittenCount + value.Length + 1 > _maxEventBytes)
            {
                _oversized = true;
                _data.ResetWrittenCount();
                return;
            }
            if (_hasData) _data.Write("\n"u8);
            _data.Write(value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventType.ResetWrittenCount();
            _eventType.Write(value.Length > MaxEventTypeBytes ? value[..MaxEventTypeBytes] : value);
        }
        // "id" and "retry" do not matter to metering.
    }

    private void ResetBlock()
    {
        _blockReady = false;
        _hasData = false;
        _oversized = false;
        _data.ResetWrittenCount();
        _eventType.ResetWrittenCount();
        // Give back buffers a huge event grew, so one big image event does not pin memory for the whole stream.
        if (_data.Capacity > LargeBufferBytes) _data = new ArrayBufferWriter<byte>();
        if (_line.Capacity > LargeBufferBytes) _line = new ArrayBufferWriter<byte>();
    }
}

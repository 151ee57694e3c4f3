using System.Buffers;
using AiGateway.Metering;
using AiGateway.Providers.Sse;

namespace AiGateway.Providers;

/// <summary>
/// Watches one streamed response attempt as it passes through: forwards the bytes the client should get (unchanged,
/// except a withheld usage-only chunk the gateway asked for on the client's behalf) and collects usage, the terminal
/// event and the delivered text. Create a new observer for every attempt, so retries never mix state.
/// </summary>
public sealed class StreamObserver
{
    private readonly StreamUsageTracker _tracker;
    private readonly SseReader _reader;
    private readonly bool _withholding;
    private bool _detectFraming;
    private readonly int _maxEventBytes;
    private readonly ArrayBufferWriter<byte> _pending = new();
    private IStreamFraming? _framing;
    private bool _blockCommitted;
    private bool _completed;

    /// <summary>
    /// Creates an observer for one attempt of <paramref name="operation"/>. <paramref name="hideUsageChunk"/> removes
    /// the final usage-only chunk of an OpenAI chat/completions stream (set it when the gateway injected include_usage).
    /// </summary>
    public StreamObserver(Operation operation, bool hideUsageChunk, int maxEventBytes = SseReader.DefaultMaxEventBytes)
        : this(ProviderDialects.For(operation), operation, hideUsageChunk, maxEventBytes)
    {
    }

    /// <summary>Creates an observer for one attempt of <paramref name="request"/>'s response (its dialect is already resolved).</summary>
    internal StreamObserver(ParsedRequest request, bool hideUsageChunk, int maxEventBytes = SseReader.DefaultMaxEventBytes)
        : this(request.IsMetered ? request.Dialect : null, request.Operation, hideUsageChunk, maxEventBytes)
    {
    }

    private StreamObserver(IProviderDialect? dialect, Operation operation, bool hideUsageChunk, int maxEventBytes)
    {
        _maxEventBytes = maxEventBytes;
        _reader = new SseReader(maxEventBytes);
        _tracker = dialect?.CreateStreamTracker(operation, hideUsageChunk) ?? new StreamUsageTracker.None();
        // Withholding costs a copy of every event, so only pay for it when something may be removed.
        _withholding = _tracker.MayWithhold;
        _detectFraming = _tracker.DetectsFraming;
    }

    /// <summary>The usage reported so far (the provider's last report), or null if none arrived.</summary>
    public CallUsage? Usage => _tracker.Usage;

    /// <summary>Whether the provider's end-of-stream event arrived (<c>[DONE]</c>, <c>response.completed</c>, <c>message_stop</c>, a Gemini <c>finishReason</c>).</summary>
    public bool SawTerminalEvent => _tracker.SawTerminalEvent;

    /// <summary>The output text written to the client so far (capped at 1 M chars), for charging a stream the client abandoned.</summary>
    public string DeliveredOutputText => _tracker.DeliveredText;

    /// <summary>Observes one upstream chunk and writes what the client should receive to <paramref name="toClient"/>.</summary>
    public void Process(ReadOnlySpan<byte> upstreamChunk, IBufferWriter<byte> toClient)
    {
        if (_completed) throw new InvalidOperationException("The stream observer has already completed.");
        if (upstreamChunk.IsEmpty) return;
        if (!_withholding) toClient.Write(upstreamChunk);

        if (_detectFraming && !DetectFraming(ref upstreamChunk)) return;
        if (_framing is not null)
        {
            _framing.Feed(upstreamChunk);
            return;
        }

        var rest = upstreamChunk;
        while (!rest.IsEmpty)
        {
            var blockDone = _reader.Advance(rest, out var consumed);
            var segment = rest[..consumed];
            rest = rest[consumed..];
            if (!blockDone)
            {
                if (_withholding) Hold(segment, toClient);
                break;
            }
            var hide = _reader.HasEvent && _tracker.OnEvent(_reader.EventType, _reader.Data);
            if (_withholding) Release(segment, hide, toClient);
        }
    }

    /// <summary>Ends the stream: reads a final unterminated event and writes any bytes still held back.</summary>
    public void Complete(IBufferWriter<byte> toClient)
    {
        if (_completed) return;
        _completed = true;
        if (_framing is not null) return;
        var hide = _reader.Finish() && _tracker.OnEvent(_reader.EventType, _reader.Data);
        if (_withholding) Release([], hide, toClient);
    }

    /// <summary>Some formats (Gemini: SSE with <c>alt=sse</c>, one incremental JSON array without) tell their framing by the first byte.</summary>
    private bool DetectFraming(ref ReadOnlySpan<byte> chunk)
    {
        var start = chunk.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0) return false;
        _framing = _tracker.CreateFraming(chunk[start], _maxEventBytes);
        chunk = chunk[start..];
        _detectFraming = false;
        return true;
    }

    /// <summary>Holds back bytes of an unfinished block, unless it grew too big to be a usage chunk (then it streams on).</summary>
    private void Hold(ReadOnlySpan<byte> segment, IBufferWriter<byte> toClient)
    {
        if (_blockCommitted)
        {
            toClient.Write(segment);
            return;
        }
        if (_pending.WrittenCount + segment.Length > _maxEventBytes)
        {
            toClient.Write(_pending.WrittenSpan);
            toClient.Write(segment);
            _pending.ResetWrittenCount();
            _blockCommitted = true;
            return;
        }
        _pending.Write(segment);
    }

    /// <summary>Finishes a block: forwards its held and final bytes, or drops them all when the block is withheld.</summary>
    private void Release(ReadOnlySpan<byte> segment, bool hide, IBufferWriter<byte> toClient)
    {
        if (_blockCommitted || !hide)
        {
            if (_pending.WrittenCount > 0) toClient.Write(_pending.WrittenSpan);
            if (!segment.IsEmpty) toClient.Write(segment);
        }
        _pending.ResetWrittenCount();
        _blockCommitted = false;
    }
}

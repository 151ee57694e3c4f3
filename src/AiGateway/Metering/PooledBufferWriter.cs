using System.Buffers;

namespace AiGateway.Metering;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> of bytes on arrays rented from <see cref="ArrayPool{T}.Shared"/>: what a metered
/// stream has to send to its client next. <see cref="ArrayBufferWriter{T}"/> allocated (and zeroed) a fresh 16 KiB
/// array per stream, the largest allocation of a metered SSE call; a rented one goes back to the pool when the stream
/// ends. Not thread-safe; <see cref="Dispose"/> once, after the last use of <see cref="WrittenMemory"/>.
/// </summary>
public sealed class PooledBufferWriter(int initialCapacity) : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, initialCapacity));
    private int _written;

    /// <summary>The bytes written since the last <see cref="ResetWrittenCount"/>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>The bytes written since the last <see cref="ResetWrittenCount"/>.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>How many bytes were written since the last <see cref="ResetWrittenCount"/>.</summary>
    public int WrittenCount => _written;

    /// <summary>Starts over (keeps the array).</summary>
    public void ResetWrittenCount() => _written = 0;

    /// <inheritdoc />
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _written) throw new InvalidOperationException("Advanced past the end of the buffer.");
        _written += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Returns the array to the pool.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Reserve(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed) return;
        // Checked: a stream's pending bytes never come near 2 GiB, but an overflow must not wrap into a small array.
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(checked(_written + needed), checked(_buffer.Length * 2)));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}

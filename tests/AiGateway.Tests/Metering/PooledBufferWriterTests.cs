using System.Buffers;
using AiGateway.Metering;

namespace AiGateway.Tests.Metering;

/// <summary>The pooled writer a metered stream collects its client's bytes in: the same bytes as <see cref="ArrayBufferWriter{T}"/>.</summary>
public sealed class PooledBufferWriterTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(16 * 1024)]
    public void RandomWritesAndResets_HoldTheSameBytesAsAnArrayBufferWriter(int initialCapacity)
    {
        var random = new Random(initialCapacity);
        using var pooled = new PooledBufferWriter(initialCapacity);
        var reference = new ArrayBufferWriter<byte>();
        for (var step = 0; step < 2_000; step++)
        {
            if (random.Next(20) == 0)
            {
                Assert.Equal(reference.WrittenSpan.ToArray(), pooled.WrittenSpan.ToArray());
                pooled.ResetWrittenCount();
                reference.ResetWrittenCount();
                continue;
            }
            // Chunks up to 3 × the initial array, so that most capacities have to grow more than once between resets.
            var chunk = new byte[random.Next(0, Math.Max(4, 3 * initialCapacity))];
            random.NextBytes(chunk);
            var hint = random.Next(3) switch { 0 => 0, 1 => chunk.Length, _ => chunk.Length + random.Next(64) };
            var span = pooled.GetSpan(hint);
            Assert.True(span.Length >= Math.Max(hint, 1), $"GetSpan({hint}) gave {span.Length} bytes");
            var take = Math.Min(chunk.Length, span.Length);
            chunk.AsSpan(0, take).CopyTo(span);
            pooled.Advance(take);
            reference.Write(chunk.AsSpan(0, take));
            Assert.Equal(reference.WrittenCount, pooled.WrittenCount);
        }
        Assert.Equal(reference.WrittenSpan.ToArray(), pooled.WrittenMemory.ToArray());
    }

    [Fact]
    public void AdvancePastTheSpan_Throws()
    {
        using var writer = new PooledBufferWriter(16);
        var length = writer.GetSpan(8).Length;
        Assert.Throws<InvalidOperationException>(() => writer.Advance(length + 1));
    }

    [Fact]
    public void AfterDispose_WritingThrows()
    {
        var writer = new PooledBufferWriter(16);
        writer.Dispose();
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan(1));
        Assert.Equal(0, writer.WrittenCount);
    }
}

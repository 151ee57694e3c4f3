using System.Runtime.CompilerServices;

namespace AiGateway.Tokenizers;

/// <summary>
/// Small per-thread, direct-mapped cache of token counts for pieces that needed merging (identifiers, non-English
/// words recur a lot within a prompt). Keys are compared byte for byte, so a hit is always exact.
/// </summary>
internal sealed class PieceCountCache
{
    /// <summary>Longest piece (bytes) worth caching; longer ones are rare and cheap relative to their size.</summary>
    public const int MaxKeyBytes = 32;
    private const int Entries = 1024;

    [ThreadStatic] private static PieceCountCache?[]? t_perPattern;

    private readonly byte[] _keys = new byte[Entries * MaxKeyBytes];
    private readonly byte[] _lengths = new byte[Entries];
    private readonly int[] _counts = new int[Entries];

    /// <summary>The calling thread's cache for one split pattern (vocabulary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PieceCountCache For(SplitPattern pattern)
    {
        var all = t_perPattern ??= new PieceCountCache?[2];
        return all[(int)pattern] ??= new PieceCountCache();
    }

    /// <summary>Returns the cached count of <paramref name="piece"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int TryGet(ReadOnlySpan<byte> piece, ulong hash)
    {
        int slot = (int)(hash & (Entries - 1));
        if (_lengths[slot] != piece.Length) return -1;
        return piece.SequenceEqual(new ReadOnlySpan<byte>(_keys, slot * MaxKeyBytes, piece.Length)) ? _counts[slot] : -1;
    }

    /// <summary>Stores the count of <paramref name="piece"/> (at most <see cref="MaxKeyBytes"/> bytes).</summary>
    public void Set(ReadOnlySpan<byte> piece, ulong hash, int count)
    {
        int slot = (int)(hash & (Entries - 1));
        piece.CopyTo(new Span<byte>(_keys, slot * MaxKeyBytes, MaxKeyBytes));
        _lengths[slot] = (byte)piece.Length;
        _counts[slot] = count;
    }
}

using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AiGateway.Tokenizers;

/// <summary>Rank-ordered byte-level BPE vocabulary with an allocation-free byte-span → rank lookup.</summary>
internal sealed class BpeVocabulary
{
    /// <summary>Returned by lookups when the byte sequence is not a token.</summary>
    public const int NotFound = int.MaxValue;

    private readonly byte[] _bytes;
    private readonly int[] _offsets;
    // Open addressing, linear probing. Slot = (low 32 hash bits << 32) | (rank + 1); 0 means empty.
    // The index uses the high hash bits, so the stored low bits add independent discrimination.
    // A fingerprint check before comparing bytes keeps misses cheap.
    private readonly ulong[] _slots;
    private readonly int _shift;
    // Two-byte pairs are the first lookup of every merge; a direct table skips hashing for them.
    private readonly int[] _pairRanks = new int[65536];
    private readonly int[] _byteRanks = new int[256];

    private BpeVocabulary(byte[] bytes, int[] offsets)
    {
        _bytes = bytes;
        _offsets = offsets;
        int count = offsets.Length - 1;
        int bits = 1;
        while ((1 << bits) < count * 2) bits++;
        _slots = new ulong[1 << bits];
        _shift = 64 - bits;
        Array.Fill(_pairRanks, NotFound);
        Array.Fill(_byteRanks, NotFound);

        for (int rank = 0; rank < count; rank++)
        {
            var token = Token(rank);
            MaxTokenLength = Math.Max(MaxTokenLength, token.Length);
            if (token.Length == 1) _byteRanks[token[0]] = rank;
            else if (token.Length == 2) _pairRanks[(token[0] << 8) | token[1]] = rank;
            ulong h = Hash(token);
            int mask = _slots.Length - 1;
            int i = (int)(h >> _shift);
            while (_slots[i] != 0) i = (i + 1) & mask;
            _slots[i] = (h << 32) | (uint)(rank + 1);
        }

        for (int b = 0; b < 256; b++)
        {
            if (_byteRanks[b] == NotFound)
                throw new InvalidDataException($"Vocabulary lacks the single byte 0x{b:X2}; byte-level BPE needs all 256.");
        }
    }

    /// <summary>Number of ordinary (mergeable) tokens.</summary>
    public int Count => _offsets.Length - 1;

    /// <summary>Length in bytes of the longest token; longer spans are never tokens.</summary>
    public int MaxTokenLength { get; }

    /// <summary>Loads a vocabulary embedded by tools/tokenizer/convert-vocab.mjs.</summary>
    public static BpeVocabulary LoadEmbedded(string name)
    {
        var asm = typeof(BpeVocabulary).Assembly;
        using var stream = asm.GetManifestResourceStream($"AiGateway.Tokenizers.{name}.bin.gz")
            ?? throw new InvalidOperationException($"Embedded vocabulary '{name}' not found.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Parses the uncompressed "TKV1" form: magic, u32 count, then varint length + bytes per rank.</summary>
    public static BpeVocabulary Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8 || !data[..4].SequenceEqual("TKV1"u8))
            throw new InvalidDataException("Not a TKV1 vocabulary.");
        int count = (int)BitConverter.ToUInt32(data.Slice(4, 4));
        var offsets = new int[count + 1];
        var bytes = new byte[data.Length];
        int pos = 8, written = 0;
        for (int rank = 0; rank < count; rank++)
        {
            int len = 0, shift = 0;
            byte b;
            do
            {
                b = data[pos++];
                len |= (b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            data.Slice(pos, len).CopyTo(bytes.AsSpan(written));
            pos += len;
            offsets[rank] = written;
            written += len;
            offsets[rank + 1] = written;
        }
        Array.Resize(ref bytes, written);
        return new BpeVocabulary(bytes, offsets);
    }

    /// <summary>The byte sequence of a token.</summary>
    public ReadOnlySpan<byte> Token(int rank) => _bytes.AsSpan(_offsets[rank], _offsets[rank + 1] - _offsets[rank]);

    /// <summary>Whether an id is an ordinary token of this vocabulary.</summary>
    public bool IsValid(int rank) => (uint)rank < (uint)Count;

    /// <summary>Rank of a single byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ByteRank(byte b) => _byteRanks[b];

    /// <summary>Rank of a two-byte sequence, or <see cref="NotFound"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PairRank(byte a, byte b) => _pairRanks[(a << 8) | b];

    /// <summary>Rank of a byte sequence, or <see cref="NotFound"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rank(ReadOnlySpan<byte> key)
    {
        if (key.Length == 2) return _pairRanks[(key[0] << 8) | key[1]];
        if (key.Length > MaxTokenLength) return NotFound;
        return Lookup(key);
    }

    private int Lookup(ReadOnlySpan<byte> key) => Lookup(key, Hash(key));

    /// <summary>Rank of a byte sequence whose <see cref="Hash"/> is already known, or <see cref="NotFound"/>.</summary>
    public int Lookup(ReadOnlySpan<byte> key, ulong h)
    {
        if (key.Length > MaxTokenLength) return NotFound;
        ulong fingerprint = h << 32;
        var slots = _slots;
        int mask = slots.Length - 1;
        int i = (int)(h >> _shift);
        while (true)
        {
            ulong slot = slots[i];
            if (slot == 0) return NotFound;
            if ((slot & 0xFFFF_FFFF_0000_0000UL) == fingerprint)
            {
                int rank = (int)(uint)slot - 1;
                int start = _offsets[rank];
                if (_offsets[rank + 1] - start == key.Length
                    && key.SequenceEqual(new ReadOnlySpan<byte>(_bytes, start, key.Length)))
                    return rank;
            }
            i = (i + 1) & mask;
        }
    }

    // Word-at-a-time multiply/xor-shift mixing: tokens are short, so a light hash with good
    // high bits (used for the slot index via Fibonacci-style shift) beats a general-purpose one.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Hash(ReadOnlySpan<byte> s)
    {
        ref byte r = ref MemoryMarshal.GetReference(s);
        int len = s.Length;
        ulong h = (ulong)len * 0x9E3779B97F4A7C15UL;
        int i = 0;
        for (; len - i >= 8; i += 8)
        {
            h = (h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref r, i))) * 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }
        int rem = len - i;
        if (rem > 0)
        {
            ulong t;
            if (rem >= 4)
            {
                t = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref r, i))
                    | ((ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref r, len - 4)) << 32);
            }
            else
            {
                t = Unsafe.Add(ref r, i)
                    | ((ulong)Unsafe.Add(ref r, i + (rem >> 1)) << 8)
                    | ((ulong)Unsafe.Add(ref r, len - 1) << 16);
            }
            h = (h ^ t) * 0x94D049BB133111EBUL;
        }
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return h;
    }
}

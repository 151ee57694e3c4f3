using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace AiGateway.Tokenizers;

/// <summary>
/// A tiktoken-identical byte-level BPE encoding (o200k_base or cl100k_base). Text is always encoded
/// as ordinary text (tiktoken's encode_ordinary): special-token text such as &lt;|endoftext|&gt; is split like
/// any other characters. Unpaired surrogates are encoded as U+FFFD, as the tiktoken JS/WASM binding does.
/// </summary>
/// <remarks>
/// Non-OpenAI models (Claude, Gemini, DeepSeek, …) have other tokenizers; callers count them with
/// <see cref="O200kBase"/> and scale by a per-model factor (see <see cref="ApproximateCounter"/>), which is an approximation.
/// </remarks>
public sealed class TiktokenEncoding
{
    private const int StackPieceBytes = 1024;

    private static readonly Lazy<TiktokenEncoding> s_o200k = new(
        () => new TiktokenEncoding("o200k_base", SplitPattern.O200k, BpeVocabulary.LoadEmbedded("o200k_base")),
        LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<TiktokenEncoding> s_cl100k = new(
        () => new TiktokenEncoding("cl100k_base", SplitPattern.Cl100k, BpeVocabulary.LoadEmbedded("cl100k_base")),
        LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly SplitPattern _pattern;
    private readonly BpeVocabulary _vocab;

    private TiktokenEncoding(string name, SplitPattern pattern, BpeVocabulary vocab)
    {
        Name = name;
        _pattern = pattern;
        _vocab = vocab;
    }

    /// <summary>The o200k_base encoding (GPT-4o, GPT-4.1, GPT-5, o-series), loaded on first use.</summary>
    public static TiktokenEncoding O200kBase => s_o200k.Value;

    /// <summary>The cl100k_base encoding (GPT-4, GPT-3.5-turbo, text-embedding-3/ada-002), loaded on first use.</summary>
    public static TiktokenEncoding Cl100kBase => s_cl100k.Value;

    /// <summary>The tiktoken encoding name, e.g. "o200k_base".</summary>
    public string Name { get; }

    /// <summary>Number of ordinary token ids (ids are 0 .. VocabularySize-1).</summary>
    public int VocabularySize => _vocab.Count;

    /// <summary>Encodes text into token ids.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text.AsSpan(), ids);
        return ids.ToArray();
    }

    /// <summary>Appends the token ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Run(text, output);
    }

    /// <summary>Counts the tokens of <paramref name="text"/> without allocating for typical prompts.</summary>
    public int CountTokens(ReadOnlySpan<char> text) => Run(text, null);

    /// <summary>Decodes token ids to text; byte sequences that are not valid UTF-8 become U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = DecodeBytes(ids);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Returns the raw bytes of the given token ids.</summary>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        int total = 0;
        foreach (int id in ids) total += TokenBytes(id).Length;
        var result = new byte[total];
        int pos = 0;
        foreach (int id in ids)
        {
            var t = TokenBytes(id);
            t.CopyTo(result.AsSpan(pos));
            pos += t.Length;
        }
        return result;
    }

    /// <summary>Returns the bytes of one token id.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        if (!_vocab.IsValid(id)) throw new ArgumentOutOfRangeException(nameof(id), id, $"Not a token id of {Name}.");
        return _vocab.Token(id);
    }

    [SkipLocalsInit]
    private int Run(ReadOnlySpan<char> text, List<int>? output)
    {
        Span<byte> stackBuffer = stackalloc byte[StackPieceBytes];
        int count = 0, pos = 0;
        while (pos < text.Length)
        {
            int end = PreTokenizer.NextEnd(_pattern, text, pos);
            var piece = text[pos..end];
            pos = end;
            // Worst case is 3 UTF-8 bytes per UTF-16 unit (a lone surrogate becomes EF BF BD).
            if (piece.Length * 3 <= StackPieceBytes)
            {
                count += EncodePiece(piece, stackBuffer, output);
            }
            else
            {
                byte[] rented = ArrayPool<byte>.Shared.Rent(piece.Length * 3);
                count += EncodePiece(piece, rented, output);
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        return count;
    }

    private int EncodePiece(ReadOnlySpan<char> piece, Span<byte> buffer, List<int>? output)
    {
        int len = ToUtf8(piece, buffer);
        var bytes = buffer[..len];
        if (len == 1)
        {
            output?.Add(_vocab.ByteRank(bytes[0]));
            return 1;
        }
        if (len == 2 || len > _vocab.MaxTokenLength)
        {
            int rank = _vocab.Rank(bytes);
            if (rank != BpeVocabulary.NotFound)
            {
                output?.Add(rank);
                return 1;
            }
            return BytePairMerger.Merge(_vocab, bytes, output);
        }

        ulong hash = BpeVocabulary.Hash(bytes);
        int whole = _vocab.Lookup(bytes, hash);
        if (whole != BpeVocabulary.NotFound)
        {
            output?.Add(whole);
            return 1;
        }
        if (output != null || len > PieceCountCache.MaxKeyBytes) return BytePairMerger.Merge(_vocab, bytes, output);

        // Counting only: reuse the merge result of a recently seen identical piece.
        var cache = PieceCountCache.For(_pattern);
        int cached = cache.TryGet(bytes, hash);
        if (cached >= 0) return cached;
        int count = BytePairMerger.Merge(_vocab, bytes, null);
        cache.Set(bytes, hash, count);
        return count;
    }

    // Hand-rolled because pieces are short: a call into Encoding.UTF8 costs more than the conversion.
    // Lone surrogates become EF BF BD (U+FFFD), matching the JS binding's TextEncoder.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ToUtf8(ReadOnlySpan<char> piece, Span<byte> buffer)
    {
        int n = 0;
        for (int i = 0; i < piece.Length; i++)
        {
            int c = piece[i];
            if (c < 0x80)
            {
                buffer[n++] = (byte)c;
            }
            else if (c < 0x800)
            {
                buffer[n++] = (byte)(0xC0 | (c >> 6));
                buffer[n++] = (byte)(0x80 | (c & 0x3F));
            }
            else
            {
                if ((uint)(c - 0xD800) < 0x800)
                {
                    if (c < 0xDC00 && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]))
                    {
                        int cp = 0x10000 + ((c - 0xD800) << 10) + (piece[++i] - 0xDC00);
                        buffer[n++] = (byte)(0xF0 | (cp >> 18));
                        buffer[n++] = (byte)(0x80 | ((cp >> 12) & 0x3F));
                        buffer[n++] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                        buffer[n++] = (byte)(0x80 | (cp & 0x3F));
                        continue;
                    }
                    c = 0xFFFD;
                }
                buffer[n++] = (byte)(0xE0 | (c >> 12));
                buffer[n++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                buffer[n++] = (byte)(0x80 | (c & 0x3F));
            }
        }
        return n;
    }
}

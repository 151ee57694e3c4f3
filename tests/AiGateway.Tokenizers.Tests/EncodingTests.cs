namespace AiGateway.Tokenizers.Tests;

public class EncodingTests
{
    public static TheoryData<string> EncodingNames => new() { "o200k_base", "cl100k_base" };

    private static TiktokenEncoding Get(string name) => ModelEncodings.ForEncodingName(name)!;

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void Encode_LoneHighSurrogate_EncodesAsReplacementChar(string encoding)
    {
        var enc = Get(encoding);
        Assert.Equal(enc.Encode("a\uFFFDb"), enc.Encode("a\uD800b"));
    }

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void Encode_ReversedSurrogatePair_EncodesAsTwoReplacementChars(string encoding)
    {
        var enc = Get(encoding);
        // Oracle (tiktoken 1.0.22): "\udc00\ud800" encodes like "\ufffd\ufffd".
        Assert.Equal(enc.Encode("x \uFFFD\uFFFD"), enc.Encode("x \uDC00\uD800"));
    }

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void Encode_LoneSurrogatesAmongPairs_EncodeAsReplacementChars(string encoding)
    {
        var enc = Get(encoding);
        // Pairs stay intact; each unpaired unit becomes U+FFFD, inside punctuation runs and words alike.
        Assert.Equal(
            enc.Encode("!\uD83D\uDE00\uFFFD\uFFFD\uD83D\uDE00 a\uFFFDb \uFFFD"),
            enc.Encode("!\uD83D\uDE00\uDC00\uD83D\uD83D\uDE00 a\uDBFFb \uD800"));
        Assert.Equal(enc.Encode("x\uFFFD").Length, enc.CountTokens("x\uDFFF"));
    }

    [Fact]
    public void Encode_ReversedSurrogatePair_MatchesOracleIds()
    {
        // Ids printed by the tiktoken npm package for "\udc00\ud800" with o200k_base.
        Assert.Equal(new[] { 10123 }, TiktokenEncoding.O200kBase.Encode("\uDC00\uD800"));
    }

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void Encode_EmptyString_ReturnsNoTokens(string encoding)
    {
        Assert.Empty(Get(encoding).Encode(""));
        Assert.Equal(0, Get(encoding).CountTokens(""));
    }

    [Fact]
    public void Encode_EndOfTextMarker_IsOrdinaryText()
    {
        var ids = TiktokenEncoding.O200kBase.Encode("<|endoftext|>");
        Assert.DoesNotContain(199999, ids);
        Assert.Equal(new[] { 27, 91, 419, 1440, 919, 91, 29 }, ids);
    }

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void CountTokens_LongSingleLetterRun_EqualsEncodeLength(string encoding)
    {
        // Exercises the heap merge path (pieces above the linear-scan limit).
        var enc = Get(encoding);
        var text = new string('z', 20_000);
        Assert.Equal(enc.Encode(text).Length, enc.CountTokens(text));
        Assert.Equal(text, enc.Decode(enc.Encode(text)));
    }

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void Decode_RandomAsciiLetters_RoundTrips(string encoding)
    {
        var enc = Get(encoding);
        var rnd = new Random(42);
        var chars = new char[50_000];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)('a' + rnd.Next(26));
        var text = new string(chars);
        var ids = enc.Encode(text);
        Assert.Equal(text, enc.Decode(ids));
        Assert.Equal(ids.Length, enc.CountTokens(text));
    }

    [Fact]
    public void Decode_InvalidId_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TiktokenEncoding.Cl100kBase.Decode(new[] { 100_256 }));
    }

    [Fact]
    public void Decode_PartialUtf8Token_YieldsReplacementChar()
    {
        var enc = TiktokenEncoding.O200kBase;
        int id = Enumerable.Range(0, enc.VocabularySize).First(i => enc.TokenBytes(i).SequenceEqual(new byte[] { 0xC3 }));
        Assert.Equal("\uFFFD", enc.Decode(new[] { id }));
    }

    [Fact]
    public void Encode_AppendOverload_AppendsToExistingList()
    {
        var list = new List<int> { -1 };
        TiktokenEncoding.O200kBase.Encode("hello world".AsSpan(), list);
        Assert.Equal(-1, list[0]);
        Assert.Equal(TiktokenEncoding.O200kBase.Encode("hello world"), list.Skip(1));
    }

    [Fact]
    public void CountTokens_AsciiPrompt_AllocatesNothing()
    {
        var enc = TiktokenEncoding.O200kBase;
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog; it's 42! ", 40));
        enc.CountTokens(text); // warm up (JIT, lazy load)
        long before = GC.GetAllocatedBytesForCurrentThread();
        int count = enc.CountTokens(text);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(count > 0);
        Assert.Equal(0, after - before);
    }
}

public class PieceCacheTests
{
    [Theory]
    [MemberData(nameof(ConformanceFixture.Names), MemberType = typeof(ConformanceFixture))]
    public void CountTokens_RepeatedCall_StillMatchesOracle(string name)
    {
        // The second count of each piece is served from the per-thread piece cache.
        var c = ConformanceFixture.Cases[name];
        var text = c.Text + " " + c.Text;
        int first = TiktokenEncoding.O200kBase.CountTokens(text);
        Assert.Equal(TiktokenEncoding.O200kBase.Encode(text).Length, first);
        Assert.Equal(first, TiktokenEncoding.O200kBase.CountTokens(text));
        Assert.Equal(TiktokenEncoding.Cl100kBase.Encode(text).Length, TiktokenEncoding.Cl100kBase.CountTokens(text));
    }
}

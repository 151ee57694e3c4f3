using AiGateway.Tokenizers;
using BenchmarkDotNet.Attributes;

namespace Tokenizers.Bench;

/// <summary>Single-threaded token counting over the shared ~2 KB prompt corpus.</summary>
[MemoryDiagnoser]
public class CountBenchmarks
{
    private List<string> _prompts = null!;

    /// <summary>Corpus file written by the "corpus" command.</summary>
    public static string CorpusPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "corpus.json");

    [GlobalSetup]
    public void Setup()
    {
        _prompts = Corpus.Read(Environment.GetEnvironmentVariable("TOKENIZER_CORPUS") ?? CorpusPath);
        _ = TiktokenEncoding.O200kBase.CountTokens("warm up");
        _ = TiktokenEncoding.Cl100kBase.CountTokens("warm up");
    }

    [Benchmark(Baseline = true)]
    public long CountCorpus_O200k()
    {
        long total = 0;
        var enc = TiktokenEncoding.O200kBase;
        foreach (var p in _prompts) total += enc.CountTokens(p);
        return total;
    }

    [Benchmark]
    public long CountCorpus_Cl100k()
    {
        long total = 0;
        var enc = TiktokenEncoding.Cl100kBase;
        foreach (var p in _prompts) total += enc.CountTokens(p);
        return total;
    }
}

/// <summary>One ~2 KB ASCII prompt, to show allocations per count call.</summary>
[MemoryDiagnoser]
public class SinglePromptBenchmarks
{
    private string _prompt = null!;

    [GlobalSetup]
    public void Setup()
    {
        _prompt = string.Concat(Enumerable.Repeat("The gateway meters tokens; it's fast and doesn't allocate. ", 40))[..2048];
        _ = TiktokenEncoding.O200kBase.CountTokens(_prompt);
    }

    [Benchmark]
    public int CountAscii2KB_O200k() => TiktokenEncoding.O200kBase.CountTokens(_prompt);
}

/// <summary>Adversarial 1 MB inputs that make a naive quadratic merge explode, plus vocabulary load.</summary>
[MemoryDiagnoser]
public class AdversarialBenchmarks
{
    private string _oneLetter = null!;
    private string _randomLetters = null!;

    [GlobalSetup]
    public void Setup()
    {
        _oneLetter = new string('a', 1 << 20);
        var rnd = new Random(7);
        var chars = new char[1 << 20];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)('a' + rnd.Next(26));
        _randomLetters = new string(chars);
        _ = TiktokenEncoding.O200kBase.CountTokens("warm up");
    }

    [Benchmark]
    public int OneMegabyteSingleLetter_O200k() => TiktokenEncoding.O200kBase.CountTokens(_oneLetter);

    [Benchmark]
    public int OneMegabyteRandomLetters_O200k() => TiktokenEncoding.O200kBase.CountTokens(_randomLetters);

    [Benchmark]
    public object LoadVocabulary_O200k() => BpeVocabulary.LoadEmbedded("o200k_base");
}

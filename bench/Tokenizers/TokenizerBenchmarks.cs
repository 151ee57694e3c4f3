using AiGateway.Tokenizers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.ML.Tokenizers;

namespace Tokenizers.Bench;

/// <summary>Single-threaded token counting over the shared ~2 KB prompt corpus; Microsoft.ML.Tokenizers is each encoding's baseline.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class CountBenchmarks
{
    private List<string> _prompts = null!;
    private Tokenizer _mlO200k = null!;
    private Tokenizer _mlCl100k = null!;

    /// <summary>Corpus file written by the "corpus" command.</summary>
    public static string CorpusPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "corpus.json");

    [GlobalSetup]
    public void Setup()
    {
        _prompts = Corpus.Read(Environment.GetEnvironmentVariable("TOKENIZER_CORPUS") ?? CorpusPath);
        _ = TiktokenEncoding.O200kBase.CountTokens("warm up");
        _ = TiktokenEncoding.Cl100kBase.CountTokens("warm up");
        _mlO200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
        _mlCl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");
    }

    [Benchmark(Baseline = true), BenchmarkCategory("o200k")]
    public long CountCorpus_O200k_Ml()
    {
        long total = 0;
        foreach (var p in _prompts) total += _mlO200k.CountTokens(p);
        return total;
    }

    [Benchmark, BenchmarkCategory("o200k")]
    public long CountCorpus_O200k()
    {
        long total = 0;
        var enc = TiktokenEncoding.O200kBase;
        foreach (var p in _prompts) total += enc.CountTokens(p);
        return total;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("cl100k")]
    public long CountCorpus_Cl100k_Ml()
    {
        long total = 0;
        foreach (var p in _prompts) total += _mlCl100k.CountTokens(p);
        return total;
    }

    [Benchmark, BenchmarkCategory("cl100k")]
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
    private Tokenizer _mlO200k = null!;

    [GlobalSetup]
    public void Setup()
    {
        _prompt = string.Concat(Enumerable.Repeat("The gateway meters tokens; it's fast and doesn't allocate. ", 40))[..2048];
        _ = TiktokenEncoding.O200kBase.CountTokens(_prompt);
        _mlO200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
    }

    [Benchmark(Baseline = true)]
    public int CountAscii2KB_O200k_Ml() => _mlO200k.CountTokens(_prompt);

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
    // No ML counterpart here: TiktokenTokenizer.CreateForEncoding caches the vocabulary per process, so a repeated call
    // measures a cache hit. Program.cs times ML's first (cold) load next to ours instead.
}

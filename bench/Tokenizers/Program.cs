using System.Diagnostics;
using System.Text;
using AiGateway.Tokenizers;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Tokenizers.Bench;

// Usage:
//   dotnet run -c Release -- corpus <path>   write the shared corpus (JSON array of ~2 KB prompts)
//   dotnet run -c Release -- quick <path>    stopwatch-only throughput (for development)
//   dotnet run -c Release -- ab <path>       interleaved A/B against Microsoft.ML.Tokenizers (robust on a busy machine)
//   dotnet run -c Release -- run <path>      cold-load + adversarial timings, then a short BenchmarkDotNet run
if (args.Length >= 2 && args[0] == "corpus")
{
    var prompts = Corpus.Build();
    Corpus.Write(args[1], prompts);
    Console.WriteLine($"wrote {prompts.Count} prompts, {prompts.Sum(p => Encoding.UTF8.GetByteCount(p))} UTF-8 bytes to {args[1]}");
    return;
}

string corpusPath = args.Length >= 2 ? Path.GetFullPath(args[1]) : CountBenchmarks.CorpusPath;
Environment.SetEnvironmentVariable("TOKENIZER_CORPUS", corpusPath);

// Cold load: first access in this process (includes decompression, table build and JIT).
var sw = Stopwatch.StartNew();
_ = TiktokenEncoding.O200kBase.CountTokens("x");
double loadO200k = sw.Elapsed.TotalMilliseconds;
sw.Restart();
_ = TiktokenEncoding.Cl100kBase.CountTokens("x");
double loadCl100k = sw.Elapsed.TotalMilliseconds;
Console.WriteLine($"RESULT vocab_load_ms_o200k {loadO200k:F1}");
Console.WriteLine($"RESULT vocab_load_ms_cl100k {loadCl100k:F1}");
sw.Restart();
_ = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("o200k_base").CountTokens("x");
Console.WriteLine($"RESULT vocab_load_ms_ml_o200k {sw.Elapsed.TotalMilliseconds:F1}");

// Adversarial one-shot timings (the BenchmarkDotNet run below repeats them).
var rnd = new Random(7);
var randomLetters = new string(Enumerable.Range(0, 1 << 20).Select(_ => (char)('a' + rnd.Next(26))).ToArray());
foreach (var (name, text) in new[] { ("1mb_single_letter", new string('a', 1 << 20)), ("1mb_random_letters", randomLetters) })
{
    foreach (var enc in new[] { TiktokenEncoding.O200kBase, TiktokenEncoding.Cl100kBase })
    {
        sw.Restart();
        int n = enc.CountTokens(text);
        Console.WriteLine($"RESULT {name}_{enc.Name}_ms {sw.Elapsed.TotalMilliseconds:F1} (tokens {n})");
    }
}

var corpus = Corpus.Read(corpusPath);
long corpusBytes = corpus.Sum(p => (long)Encoding.UTF8.GetByteCount(p));

if (args[0] == "ab")
{
    // Interleaved A/B against Microsoft.ML.Tokenizers: each round counts the whole corpus with ours, then with ML (order
    // alternating), so both see the same machine load; the median of the per-round ratios is robust on a busy machine.
    foreach (var (name, ours, ml) in new[]
    {
        ("o200k", TiktokenEncoding.O200kBase, Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("o200k_base")),
        ("cl100k", TiktokenEncoding.Cl100kBase, Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("cl100k_base")),
    })
    {
        long Ours() { long t = 0; foreach (var p in corpus) t += ours.CountTokens(p); return t; }
        long Ml() { long t = 0; foreach (var p in corpus) t += ml.CountTokens(p); return t; }
        if (Ours() != Ml()) Console.WriteLine($"NOTE {name}: token totals differ ({Ours()} vs {Ml()}; special-token text or astral letters in the corpus)");
        var ratios = new List<double>();
        double bestOurs = double.MaxValue, bestMl = double.MaxValue;
        for (int round = 0; round < 21; round++)
        {
            double tOurs = 0, tMl = 0;
            for (int half = 0; half < 2; half++)
            {
                bool oursFirst = (round + half) % 2 == 0;
                sw.Restart();
                if (oursFirst) Ours(); else Ml();
                double t = sw.Elapsed.TotalMilliseconds;
                if (oursFirst) tOurs = t; else tMl = t;
            }
            ratios.Add(tMl / tOurs);
            bestOurs = Math.Min(bestOurs, tOurs);
            bestMl = Math.Min(bestMl, tMl);
        }
        ratios.Sort();
        Console.WriteLine($"RESULT ab_{name}_median_speedup_vs_ml {ratios[ratios.Count / 2]:F2} (best ours {corpusBytes / (bestOurs / 1e3) / 1e6:F1} MB/s, best ML {corpusBytes / (bestMl / 1e3) / 1e6:F1} MB/s)");
    }
    return;
}

if (args[0] == "quick")
{
    // Stopwatch-only throughput for iterating on the implementation; the numbers to report come from "run".
    foreach (var enc in new[] { TiktokenEncoding.O200kBase, TiktokenEncoding.Cl100kBase })
    {
        long tokens = 0;
        foreach (var p in corpus) tokens += enc.CountTokens(p);
        int passes = 0;
        long allocBefore = GC.GetAllocatedBytesForCurrentThread();
        sw.Restart();
        while (sw.Elapsed.TotalSeconds < 3)
        {
            foreach (var p in corpus) enc.CountTokens(p);
            passes++;
        }
        double seconds = sw.Elapsed.TotalSeconds;
        long alloc = GC.GetAllocatedBytesForCurrentThread() - allocBefore;
        Console.WriteLine($"QUICK {enc.Name}: {corpusBytes * passes / seconds / 1e6:F2} MB/s, tokens {tokens}, {alloc / (double)(passes * corpus.Count):F1} B allocated per prompt");
    }
    return;
}

// Short job: 2 shared cores and other builds on the machine; in-process avoids generating a second project.
var job = Job.ShortRun.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1)
    .WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
var summaries = BenchmarkRunner.Run(new[] { typeof(CountBenchmarks), typeof(SinglePromptBenchmarks), typeof(AdversarialBenchmarks) }, config);

var means = new Dictionary<string, double>();
foreach (var report in summaries.SelectMany(s => s.Reports))
{
    var name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
    var stats = report.ResultStatistics;
    if (stats == null) continue;
    means[name] = stats.Mean;
    long allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? -1;
    Console.WriteLine($"RESULT {name}_mean_ms {stats.Mean / 1e6:F3} (allocated {allocated} B/op)");
    if (name.StartsWith("CountCorpus_"))
    {
        string who = name.EndsWith("_Ml") ? "ml" : "ours";
        string enc = name.Contains("O200k") ? "o200k" : "cl100k";
        Console.WriteLine($"RESULT {who}_{enc}_mbps {corpusBytes / (stats.Mean / 1e9) / 1e6:F2}");
        Console.WriteLine($"RESULT {who}_{enc}_alloc_per_prompt_bytes {(double)allocated / corpus.Count:F2}");
    }
}

// Ours against the .NET baseline (Microsoft.ML.Tokenizers' TiktokenTokenizer), measured in this same run.
foreach (var (ml, ours) in new[]
{
    ("CountCorpus_O200k_Ml", "CountCorpus_O200k"), ("CountCorpus_Cl100k_Ml", "CountCorpus_Cl100k"),
    ("CountAscii2KB_O200k_Ml", "CountAscii2KB_O200k"),
})
{
    if (means.TryGetValue(ml, out var mlMean) && means.TryGetValue(ours, out var oursMean))
    {
        Console.WriteLine($"RESULT speedup_vs_ml_{ours} {mlMean / oursMean:F2}");
    }
}

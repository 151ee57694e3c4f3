using System.IO.Compression;
using System.Text.Json;

namespace AiGateway.Tokenizers.Tests;

/// <summary>One oracle-generated case: text and the ids tiktoken produced for both encodings.</summary>
public sealed record ConformanceCase(string Name, string Text, int[] O200k, int[] Cl100k);

/// <summary>Loads Fixtures/conformance.json.gz once.</summary>
public static class ConformanceFixture
{
    private static readonly Lazy<IReadOnlyDictionary<string, ConformanceCase>> s_cases = new(Load);

    /// <summary>All cases by name.</summary>
    public static IReadOnlyDictionary<string, ConformanceCase> Cases => s_cases.Value;

    /// <summary>Case names as xunit theory data.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys) data.Add(name);
        return data;
    }

    private static IReadOnlyDictionary<string, ConformanceCase> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "conformance.json.gz");
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(gzip);
        var result = new Dictionary<string, ConformanceCase>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var c = new ConformanceCase(
                e.GetProperty("name").GetString()!,
                e.GetProperty("text").GetString()!,
                e.GetProperty("o200k_base").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("cl100k_base").EnumerateArray().Select(x => x.GetInt32()).ToArray());
            result.Add(c.Name, c);
        }
        return result;
    }
}

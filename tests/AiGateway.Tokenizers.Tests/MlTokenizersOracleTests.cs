using System.Text;
using Microsoft.ML.Tokenizers;

namespace AiGateway.Tokenizers.Tests;

/// <summary>
/// Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/> as a second oracle, independent of the tiktoken npm package
/// that generated the fixture: on random and real texts our ids must equal its ids exactly. Texts containing a special-token
/// string (e.g. <c>&lt;|endoftext|&gt;</c>) are left out: ML always turns them into the special token, while we count them as
/// plain text the way OpenAI's API does.
/// </summary>
public class MlTokenizersOracleTests
{
    private static readonly Lazy<Tokenizer> s_o200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> s_cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    public static TheoryData<string> Encodings() => new() { "o200k_base", "cl100k_base" };

    private static (TiktokenEncoding Ours, Tokenizer Oracle) Pair(string encoding) => encoding == "o200k_base"
        ? (TiktokenEncoding.O200kBase, s_o200k.Value)
        : (TiktokenEncoding.Cl100kBase, s_cl100k.Value);

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Encode_RandomTexts_IdsEqualMlTokenizers(string encoding)
    {
        var (ours, oracle) = Pair(encoding);
        var random = new Random(20261130);
        var compared = 0;
        for (var i = 0; i < 3000; i++)
        {
            var text = RandomText(random, random.Next(1, 200));
            if (OracleCannotJudge(text)) continue;
            AssertSameIds(ours, oracle, text);
            compared++;
        }
        Assert.True(compared > 2900, $"only {compared} random texts compared");
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Encode_RealTexts_IdsEqualMlTokenizers(string encoding)
    {
        var (ours, oracle) = Pair(encoding);
        var texts = RealTexts().ToList();
        Assert.True(texts.Count > 1000, $"only {texts.Count} real texts");
        Assert.True(texts.Sum(t => t.Length) > 300_000, $"only {texts.Sum(t => t.Length)} characters of real text");
        foreach (var text in texts) AssertSameIds(ours, oracle, text);
    }

    private static void AssertSameIds(TiktokenEncoding ours, Tokenizer oracle, string text)
    {
        var expected = oracle.EncodeToIds(text);
        var actual = ours.Encode(text);
        if (!expected.SequenceEqual(actual))
        {
            Assert.Fail($"{ours.Name} differs from Microsoft.ML.Tokenizers on \"{Escape(text)}\":\n ML:   [{string.Join(",", expected)}]\n ours: [{string.Join(",", actual)}]");
        }
    }

    private static readonly string[] s_specialTokens =
        ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>"];

    /// <summary>Texts the oracle cannot judge: special-token strings (see the class summary), and letters or digits outside
    /// the BMP (e.g. 𝔘, CJK extension B). ML's pre-tokenizer is a .NET <c>Regex</c>, which sees such a character as two
    /// surrogates, not as <c>\p{L}</c>/<c>\p{N}</c>; tiktoken (and we) see one letter, so the split differs — ours matches
    /// tiktoken there (the fixture covers such texts).</summary>
    private static bool OracleCannotJudge(string text) =>
        s_specialTokens.Any(t => text.Contains(t, StringComparison.Ordinal))
        || text.EnumerateRunes().Any(r => r.Value > 0xFFFF && (Rune.IsLetter(r) || Rune.IsNumber(r)));

    /// <summary>The fixture's texts, and the repository's own documents and C# sources cut into paragraphs.</summary>
    private static IEnumerable<string> RealTexts()
    {
        foreach (var c in ConformanceFixture.Cases.Values)
        {
            if (!OracleCannotJudge(c.Text)) yield return c.Text;
        }
        var root = RepositoryRoot();
        var files = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "src"), "*.md", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in files)
        {
            foreach (var paragraph in File.ReadAllText(file).Split("\n\n"))
            {
                if (paragraph.Length > 0 && !OracleCannotJudge(paragraph)) yield return paragraph;
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AiGateway.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("AiGateway.sln not found above " + AppContext.BaseDirectory);
    }

    // Pieces chosen to hit the pre-tokenizer's edges: contractions, digit runs, whitespace runs before words, newlines,
    // punctuation runs, case changes, letters from several scripts, combining marks and surrogate pairs (never a lone one:
    // the two implementations replace invalid UTF-16 differently, and no JSON request can carry one).
    private static readonly string[] s_pieces =
    [
        "a", "Z", "hello", "World", "camelCase", "ALLCAPS", "'s", "'T", "'re", "'ll", "'D", "n't", "0", "7", "12345", "3.14",
        " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u00a0", "\u3000", ".", ",", "!?", "...", "--", "()", "{}", "\"", "'",
        "#", "$", "%", "&&", "=>", "/", "\\", "_", "@", "é", "ß", "Ω", "ж", "Привет", "مرحبا", "שלום", "नमस्ते", "中文",
        "日本語", "한국어", "ไทย", "e\u0301", "\u0308", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "\u200b", "\u2028", "\u0000", "<|", "|>",
    ];

    private static string RandomText(Random random, int pieces)
    {
        var text = new StringBuilder();
        for (var i = 0; i < pieces; i++)
        {
            if (random.Next(8) == 0)
            {
                // A random BMP code point outside the surrogate range, for coverage beyond the hand-picked pieces.
                int c;
                do c = random.Next(0x20, 0xFFFE); while (c is >= 0xD800 and <= 0xDFFF);
                text.Append((char)c);
            }
            else
            {
                text.Append(s_pieces[random.Next(s_pieces.Length)]);
            }
        }
        return text.ToString();
    }

    private static string Escape(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text) sb.Append(c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString());
        return sb.ToString();
    }
}

using System.Text;
using System.Text.Json;

namespace Tokenizers.Bench;

/// <summary>Deterministic mixed benchmark corpus (prose, code, multilingual) cut into ~2 KB prompts.</summary>
public static class Corpus
{
    /// <summary>Target prompt size in UTF-16 characters.</summary>
    public const int PromptChars = 2048;

    // Public-domain prose (Austen, Melville, Dickens openings) and plain sentences written for this benchmark.
    private static readonly string[] Prose =
    [
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
        "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.",
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.",
        "The gateway forwards each request to the upstream provider, meters the tokens it consumed, and debits the caller's credit balance.",
        "However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families.",
        "We're shipping the release on Thursday; if the integration tests don't pass by then, we'll postpone it until next week.",
        "Invoices are generated monthly. Please contact support@example.com with questions about charges, refunds or your account's usage limits.",
        "She didn't answer at first. \"I've been thinking,\" she said at last, \"that we ought to leave before the rain starts.\"",
        "In 2023, the team processed 1,234,567 requests with a median latency of 42 ms and a p99 of 310 ms.",
        "Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul, I account it high time to get to sea.",
    ];

    private static readonly string[] Code =
    [
        "public static int Fibonacci(int n)\n{\n    if (n < 2) return n;\n    int a = 0, b = 1;\n    for (int i = 2; i <= n; i++) (a, b) = (b, a + b);\n    return b;\n}\n",
        "def parse_config(path):\n    with open(path, \"r\", encoding=\"utf-8\") as f:\n        data = json.load(f)\n    return {k.lower(): v for k, v in data.items() if v is not None}\n\n",
        "const res = await fetch(`${baseUrl}/v1/chat/completions`, {\n  method: 'POST',\n  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },\n  body: JSON.stringify({ model: 'gpt-4o', messages }),\n});\n",
        "SELECT a.id, a.name, SUM(u.tokens) AS total\nFROM accounts a\nJOIN usage u ON u.account_id = a.id\nWHERE u.created_at >= NOW() - INTERVAL '30 days'\nGROUP BY a.id, a.name\nORDER BY total DESC;\n",
        "{\n  \"model\": \"gpt-4o-mini\",\n  \"temperature\": 0.2,\n  \"messages\": [{\"role\": \"user\", \"content\": \"Summarize the report.\"}]\n}\n",
        "fn main() {\n    let v: Vec<u32> = (1..=10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    ];

    private static readonly string[] Multilingual =
    [
        "人工智能正在改变我们的工作方式，许多公司开始使用大型语言模型。",
        "東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。",
        "서울은 대한민국의 수도이며 많은 사람들이 살고 있습니다.",
        "Москва — столица России, крупнейший по численности населения город страны.",
        "مرحبا بكم في خدمتنا. يرجى قراءة الشروط قبل المتابعة.",
        "भारत एक विशाल देश है जहाँ अनेक भाषाएँ बोली जाती हैं।",
        "Le renard brun rapide saute par-dessus le chien paresseux. Ça coûte 12,50 €.",
        "Die Straße war nass, und die Kinder spielten trotzdem draußen im Regen.",
        "Ελπίζω να έχετε μια υπέροχη μέρα! 🙂👍🏽",
        "¿Dónde está la estación de tren? Necesito llegar antes de las ocho.",
    ];

    /// <summary>Builds about <paramref name="totalChars"/> characters of mixed text, cut into prompts.</summary>
    public static List<string> Build(int totalChars = 1 << 20, int seed = 12345)
    {
        var rnd = new Random(seed);
        var prompts = new List<string>();
        var sb = new StringBuilder();
        int produced = 0;
        while (produced < totalChars)
        {
            sb.Clear();
            while (sb.Length < PromptChars)
            {
                double r = rnd.NextDouble();
                // Half the fragments are verbatim, half are recombined so the corpus has a long tail of unseen
                // pieces (fresh identifiers, numbers, word orders) instead of flattering per-piece caches.
                bool fresh = rnd.Next(2) == 0;
                if (r < 0.55) sb.Append(fresh ? NewSentence(rnd) : Prose[rnd.Next(Prose.Length)]);
                else if (r < 0.8) sb.Append(fresh ? NewCode(rnd) : Code[rnd.Next(Code.Length)]);
                else sb.Append(fresh ? Shuffle(rnd, Multilingual[rnd.Next(Multilingual.Length)]) : Multilingual[rnd.Next(Multilingual.Length)]);
                sb.Append(rnd.Next(4) == 0 ? "\n\n" : " ");
            }
            int cut = PromptChars;
            if (char.IsHighSurrogate(sb[cut - 1])) cut--;
            prompts.Add(sb.ToString(0, cut));
            produced += cut;
        }
        return prompts;
    }

    private static readonly string[] Words = Prose
        .SelectMany(p => p.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Select(w => w.Trim(',', '.', ';', '"', '—'))
        .Where(w => w.Length > 0)
        .Distinct()
        .ToArray();

    private static readonly string[] Syllables = ["get", "set", "user", "acct", "bal", "ance", "req", "res", "cfg", "tok", "en", "ize", "meter", "cred", "it", "rate", "lim", "pay", "load", "idx", "buf", "async", "str", "map", "node"];

    private static string NewSentence(Random rnd)
    {
        int n = 6 + rnd.Next(18);
        var words = new string[n];
        for (int i = 0; i < n; i++)
        {
            words[i] = rnd.Next(12) == 0 ? rnd.Next(100_000).ToString() : Words[rnd.Next(Words.Length)];
        }
        words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
        return string.Join(rnd.Next(7) == 0 ? ", " : " ", words) + (rnd.Next(5) == 0 ? "?" : ".");
    }

    private static string Identifier(Random rnd)
    {
        int parts = 1 + rnd.Next(4);
        var sb = new StringBuilder();
        bool snake = rnd.Next(3) == 0;
        for (int i = 0; i < parts; i++)
        {
            var syl = Syllables[rnd.Next(Syllables.Length)];
            if (i > 0 && snake) sb.Append('_');
            sb.Append(i > 0 && !snake ? char.ToUpperInvariant(syl[0]) + syl[1..] : syl);
        }
        if (rnd.Next(4) == 0) sb.Append(rnd.Next(1000));
        return sb.ToString();
    }

    private static string NewCode(Random rnd)
    {
        string a = Identifier(rnd), b = Identifier(rnd), c = Identifier(rnd);
        return rnd.Next(3) switch
        {
            0 => $"var {a} = await {b}.{c}Async({rnd.Next(10_000)}, cancellationToken);\nif ({a} is null) return Results.NotFound();\n",
            1 => $"def {a}({b}, {c}=None):\n    return [{b}[i] * {rnd.Next(97)} for i in range(len({b})) if i % {1 + rnd.Next(9)}]\n",
            _ => $"export function {a}({b}: number): string {{\n  return `${{{b}}}-{c}-{rnd.Next(1 << 20):x}`;\n}}\n",
        };
    }

    private static string Shuffle(Random rnd, string text)
    {
        var elements = new List<string>();
        var e = System.Globalization.StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext()) elements.Add((string)e.Current);
        for (int i = elements.Count - 1; i > 0; i--)
        {
            int j = rnd.Next(i + 1);
            (elements[i], elements[j]) = (elements[j], elements[i]);
        }
        return string.Concat(elements);
    }

    /// <summary>Writes prompts as a JSON array of strings (read by js/bench.mjs too).</summary>
    public static void Write(string path, List<string> prompts)
        => File.WriteAllText(path, JsonSerializer.Serialize(prompts), new UTF8Encoding(false));

    /// <summary>Reads prompts written by <see cref="Write"/>.</summary>
    public static List<string> Read(string path) => JsonSerializer.Deserialize<List<string>>(File.ReadAllText(path))!;
}

using System.Text;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>
/// Generates hostile variants of valid provider requests from a seeded <see cref="Random"/>: structural mutations
/// (type swaps, huge numbers, deep arrays, random unicode) on the parsed JSON, then byte-level ones (truncation, flips,
/// random bytes). Streaming is never switched on, so every accepted call reports its charge in a header.
/// </summary>
public sealed class BodyMutator(int seed)
{
    private readonly Random _random = new(seed);

    // Deep arrays go past the serializer's default depth of 64; the gateway must see them.
    private static readonly System.Text.Json.JsonSerializerOptions WriteOptions = new() { MaxDepth = 4096 };

    private static readonly string[] OpenAiSeeds =
    [
        HardeningHost.GoodBody(Target.OpenAi),
        """{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hello there"}]}],"temperature":0.2,"n":1,"max_completion_tokens":32}""",
        """{"model":"gpt-4o","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"stream":false}""",
    ];

    private static readonly string[] AnthropicSeeds =
    [
        HardeningHost.GoodBody(Target.Anthropic),
        """{"model":"claude-sonnet-4","max_tokens":50,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":"Hello"},{"role":"user","content":"More"}]}""",
    ];

    private static readonly string[] GeminiSeeds =
    [
        HardeningHost.GoodBody(Target.Gemini),
        """{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hi"},{"text":"there"}]}],"generationConfig":{"temperature":0.1,"maxOutputTokens":40,"candidateCount":1}}""",
    ];

    /// <summary>A body for <paramref name="target"/>: usually mutated, sometimes left valid so accepted calls happen too.</summary>
    public byte[] Next(Target target)
    {
        var seeds = target switch
        {
            Target.Anthropic => AnthropicSeeds,
            Target.Gemini => GeminiSeeds,
            _ => OpenAiSeeds,
        };
        var text = seeds[_random.Next(seeds.Length)];
        var roll = _random.Next(100);
        if (roll < 15) return Encoding.UTF8.GetBytes(text);
        if (roll < 18) return [];
        if (roll < 22) return RandomBytes(_random.Next(1, 2048));

        var node = JsonNode.Parse(text)!;
        for (var i = _random.Next(1, 4); i > 0; i--) node = MutateTree(node);
        var json = node.ToJsonString(WriteOptions);
        if (_random.Next(4) == 0) json = InsertRawText(json);
        var bytes = Encoding.UTF8.GetBytes(json);
        return _random.Next(3) == 0 ? MutateBytes(bytes) : bytes;
    }

    private JsonNode MutateTree(JsonNode root)
    {
        var slots = new List<(JsonNode Parent, object Key)>();
        Collect(root, slots);
        if (slots.Count == 0) return RandomValue(0) ?? JsonValue.Create(0);
        var (parent, key) = slots[_random.Next(slots.Count)];
        var value = _random.Next(10) switch
        {
            0 => JsonValue.Create(HugeNumber()),
            1 => DeepArray(_random.Next(1, 200)),
            2 => JsonValue.Create(RandomUnicode(_random.Next(0, 64))),
            _ => RandomValue(0),
        };
        if (parent is JsonObject o)
        {
            var name = (string)key;
            if (_random.Next(8) == 0) o.Remove(name); else o[name] = value;
        }
        else if (parent is JsonArray a)
        {
            var index = (int)key;
            if (_random.Next(8) == 0) a.RemoveAt(index); else a[index] = value;
        }
        return root;
    }

    private static void Collect(JsonNode node, List<(JsonNode, object)> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    slots.Add((o, name));
                    if (child is not null) Collect(child, slots);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    slots.Add((a, i));
                    if (a[i] is { } child) Collect(child, slots);
                }
                break;
        }
    }

    private JsonNode? RandomValue(int depth) => _random.Next(depth > 2 ? 6 : 8) switch
    {
        0 => null,
        1 => JsonValue.Create(_random.Next(2) == 0),
        2 => JsonValue.Create(_random.Next(-5, 100_000)),
        3 => JsonValue.Create(_random.NextDouble() * Math.Pow(10, _random.Next(-5, 300))),
        4 => JsonValue.Create(RandomUnicode(_random.Next(0, 16))),
        5 => JsonValue.Create(_random.Next(2) == 0 ? "gpt-4o" : "no-such-model"),
        6 => new JsonArray(Enumerable.Range(0, _random.Next(0, 4)).Select(_ => RandomValue(depth + 1)).ToArray()),
        _ => new JsonObject(Enumerable.Range(0, _random.Next(0, 4))
            .Select(i => KeyValuePair.Create(i == 0 ? "model" : RandomUnicode(5), RandomValue(depth + 1)))
            .DistinctBy(p => p.Key)),
    };

    private decimal HugeNumber() => _random.Next(6) switch
    {
        0 => 1_000_000_000_000m,
        1 => int.MaxValue + 1m,
        2 => long.MaxValue + 1m,
        3 => -1m,
        4 => 0m,
        _ => decimal.MaxValue,
    };

    private static JsonNode DeepArray(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 1; i < depth; i++) node = new JsonArray(node);
        return node;
    }

    private string RandomUnicode(int length)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var c = _random.Next(6) switch
            {
                0 => _random.Next(0x20, 0x7F),
                1 => _random.Next(0xA0, 0x800),
                2 => _random.Next(0x4E00, 0x9FFF),
                3 => _random.Next(0x1F300, 0x1FAFF),
                4 => _random.Next(0, 0x20),
                _ => _random.Next(0xE000, 0xFFFD),
            };
            sb.Append(char.ConvertFromUtf32(c));
        }
        return sb.ToString();
    }

    /// <summary>Text the serializer would never write: lone surrogate escapes, raw control characters, NaN, duplicates, nesting.</summary>
    private string InsertRawText(string json)
    {
        string[] pieces =
        [
            "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud83d\\ude00\"", "NaN", "Infinity", "-0", "1e400", "\"\u0001\"", "\"model\":\"gpt-4o\",\"model\":\"x\"",
            new string('[', 5000), "{\"a\":" + new string('{', 70), "\"\\u0000\"", "\"\\x41\"", "'single'", "true", "[]",
        ];
        var at = _random.Next(json.Length + 1);
        return json[..at] + pieces[_random.Next(pieces.Length)] + json[at..];
    }

    private byte[] MutateBytes(byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        switch (_random.Next(3))
        {
            case 0:
                return bytes[.._random.Next(bytes.Length)];
            case 1:
                var copy = (byte[])bytes.Clone();
                for (var i = _random.Next(1, 8); i > 0; i--) copy[_random.Next(copy.Length)] ^= (byte)(1 << _random.Next(8));
                return copy;
            default:
                var at = _random.Next(bytes.Length);
                return [.. bytes[..at], .. RandomBytes(_random.Next(1, 32)), .. bytes[at..]];
        }
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }
}

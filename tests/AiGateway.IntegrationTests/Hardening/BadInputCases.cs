using System.Text;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>Hostile or broken request bodies, each with the status the gateway must answer without forwarding or charging.</summary>
public static class BadInputCases
{
    /// <summary>A named bad body for a target and the expected status (400 unless stated).</summary>
    public sealed record Case(string Name, Func<Target, byte[]?> Body, int Status = 400);

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static string Good(Target t) => HardeningHost.GoodBody(t);

    /// <summary>Replaces the good body's output-token limit with <paramref name="value"/> (raw JSON text).</summary>
    private static byte[] WithMaxTokens(Target t, string value) => Utf8(t == Target.Gemini
        ? Good(t).Replace("\"maxOutputTokens\":64", "\"maxOutputTokens\":" + value)
        : Good(t).Replace("\"max_tokens\":64", "\"max_tokens\":" + value));

    /// <summary>Every case; a null body means "not applicable to this target" (Gemini names its model in the path).</summary>
    public static readonly Case[] All =
    [
        new("malformed", t => Utf8(Good(t).Replace(":", " ").Replace(",", ";"))),
        new("truncated", t => Utf8(Good(t)[..(Good(t).Length / 2)])),
        new("truncated-one-byte", t => Utf8(Good(t)[..^1])),
        new("model-is-number", t => t == Target.Gemini ? null : Utf8(Good(t).Replace("\"gpt-4o\"", "5").Replace("\"claude-sonnet-4-20250514\"", "5"))),
        new("messages-is-object", t => Utf8(t == Target.Gemini
            ? """{"contents":{}}"""
            : Good(t).Replace("[{\"role\":\"user\",\"content\":\"hi\"}]", "{}"))),
        new("messages-items-are-strings", t => Utf8(t == Target.Gemini
            ? """{"contents":["hi"]}"""
            : Good(t).Replace("[{\"role\":\"user\",\"content\":\"hi\"}]", "[\"hi\"]"))),
        new("deep-nesting-10000", t => Utf8("{\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}")),
        new("deep-nesting-in-messages", t => Utf8(Good(t).Replace("\"hi\"", new string('[', 10_000) + new string(']', 10_000)))),
        new("invalid-utf8", t => [.. Utf8(Good(t)[..^3]), 0xC3, 0x28, 0xFF, .. Utf8(Good(t)[^3..])]),
        new("invalid-utf8-in-string", t => Utf8(Good(t)).Select(b => b == (byte)'h' ? (byte)0xFF : b).ToArray()),
        new("max-tokens-1e12", t => WithMaxTokens(t, "1000000000000")),
        new("max-tokens-int-overflow", t => WithMaxTokens(t, "2147483648")),
        new("max-tokens-long-overflow", t => WithMaxTokens(t, "99999999999999999999999999")),
        new("max-tokens-1e400", t => WithMaxTokens(t, "1e400")),
        new("max-tokens-negative", t => WithMaxTokens(t, "-1")),
        new("max-tokens-zero", t => WithMaxTokens(t, "0")),
        new("max-tokens-fraction", t => WithMaxTokens(t, "1.5")),
        new("max-tokens-NaN", t => WithMaxTokens(t, "NaN")),
        new("max-tokens-string", t => WithMaxTokens(t, "\"64\"")),
        new("unknown-model", t => t == Target.Gemini ? null : Utf8(Good(t).Replace("gpt-4o", "no-such-model-9").Replace("claude-sonnet-4-20250514", "no-such-model-9")), 404),
        new("missing-model", t => t == Target.Gemini ? null : Utf8(Good(t).Replace("\"model\":\"gpt-4o\",", "").Replace("\"model\":\"claude-sonnet-4-20250514\",", ""))),
        new("empty-model", t => t == Target.Gemini ? null : Utf8(Good(t).Replace("\"gpt-4o\"", "\"\"").Replace("\"claude-sonnet-4-20250514\"", "\"\""))),
        new("duplicate-model-key", t => t == Target.Gemini ? null : Utf8(Good(t).Replace("{\"model\":", "{\"model\":\"gpt-4o-mini\",\"model\":"))),
        new("duplicate-max-tokens", t => Utf8(t == Target.Gemini
            ? Good(t).Replace("{\"maxOutputTokens\":64}", "{\"maxOutputTokens\":1,\"maxOutputTokens\":99999}")
            : Good(t).Replace("\"max_tokens\":64", "\"max_tokens\":1,\"max_tokens\":99999"))),
        new("not-json", _ => Utf8("hello, this is not JSON")),
        new("empty-body", _ => []),
        new("json-array-root", _ => Utf8("[1,2,3]")),
        new("json-null-root", _ => Utf8("null")),
        new("json-string-root", _ => Utf8("\"gpt-4o\"")),
        new("trailing-garbage", t => Utf8(Good(t) + "{}")),
        new("lone-surrogate-escape", t => Utf8(Good(t).Replace("\"hi\"", "\"\\ud800\""))),
        // Found by the fuzzer: JsonDocument's duplicate-key check throws InvalidOperationException on such a name.
        new("lone-surrogate-in-property-name", t => Utf8(Good(t)[..^1] + ",\"\\ud83e-0\":1,\"\\ud83e-0x\":2}")),
        // Found by the fuzzer: the token counters read these fields with JsonElement getters that threw on a wrong type (500).
        new("tool-function-is-bool", t => t is Target.OpenAi or Target.Estimate
            ? Utf8(Good(t)[..^1] + ",\"tools\":[{\"type\":\"function\",\"function\":false}]}") : null),
        new("content-block-type-is-number", t => t == Target.Anthropic
            ? Utf8(Good(t).Replace("\"content\":\"hi\"", "\"content\":[{\"type\":9223372036854775808,\"text\":\"hi\"}]")) : null),
        new("nul-bytes", t => Utf8(Good(t).Replace("hi", "\0\0"))),
    ];

    /// <summary>Theory data: every applicable (target, case) pair.</summary>
    public static IEnumerable<object[]> Data(params Target[] targets) =>
        from t in targets
        from c in All
        where c.Body(t) is not null
        select new object[] { t, c.Name };
}

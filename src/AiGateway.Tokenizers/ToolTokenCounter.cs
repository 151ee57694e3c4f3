using System.Text.Json;

namespace AiGateway.Tokenizers;

/// <summary>Counts function/tool definitions as the cookbook's <c>num_tokens_for_tools</c> does.</summary>
internal static class ToolTokenCounter
{
    /// <summary>Counts <c>tools</c> (chat nested or Responses flat shape) and legacy <c>functions</c> of a request.</summary>
    public static int Count(JsonElement request, ChatCountingRules rules)
    {
        var functions = new List<JsonElement>();
        if (request.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                if (tool.ValueKind != JsonValueKind.Object || ChatTokenCounter.GetString(tool, "type") is not ("function" or null)) continue;
                functions.Add(tool.TryGetProperty("function", out var fn) ? fn : tool);
            }
        }
        if (request.TryGetProperty("functions", out var legacy) && legacy.ValueKind == JsonValueKind.Array)
        {
            foreach (var fn in legacy.EnumerateArray()) functions.Add(fn);
        }
        if (functions.Count == 0) return 0;

        var enc = rules.Encoding;
        int n = 0;
        foreach (var fn in functions)
        {
            n += rules.FunctionInit;
            string name = ChatTokenCounter.GetString(fn, "name") ?? "";
            n += enc.CountTokens(name + ":" + TrimPeriod(ChatTokenCounter.GetString(fn, "description")));
            if (!fn.TryGetProperty("parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Object
                || !parameters.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
                continue;
            bool first = true;
            foreach (var prop in properties.EnumerateObject())
            {
                if (first) { n += rules.PropertiesInit; first = false; }
                n += rules.PropertyKey;
                var schema = prop.Value;
                if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("enum", out var items) && items.ValueKind == JsonValueKind.Array)
                {
                    n += rules.EnumInit;
                    foreach (var item in items.EnumerateArray())
                    {
                        n += rules.EnumItem;
                        n += enc.CountTokens(item.ValueKind == JsonValueKind.String ? item.GetString() : item.GetRawText());
                    }
                }
                string type = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var t)
                    ? (t.ValueKind == JsonValueKind.String ? t.GetString()! : t.GetRawText())
                    : "";
                string desc = TrimPeriod(ChatTokenCounter.GetString(schema, "description"));
                n += enc.CountTokens(prop.Name + ":" + type + ":" + desc);
            }
        }
        return n + rules.FunctionEnd;
    }

    // The cookbook drops one trailing period from descriptions before counting.
    private static string TrimPeriod(string? s) => s is null ? "" : s.EndsWith('.') ? s[..^1] : s;
}
